<?php
/**
 * The plugin's settings, read in one place.
 *
 * @package PreferencePortal
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Reads the option the settings page saves, and the shared secret.
 */
class Preference_Portal_Options {

	const OPTION = 'preference_portal_settings';

	/** The languages the portal speaks. */
	const LANGUAGES = array( 'es', 'eu', 'en' );

	/** The shortest shared secret the portal accepts. */
	const MIN_SECRET_LENGTH = 32;

	/**
	 * The saved settings, with defaults.
	 *
	 * @return array{portal_url: string, site_origin: string, languages: array<string, string>}
	 */
	public static function all() {
		$saved = get_option( self::OPTION, array() );
		$saved = is_array( $saved ) ? $saved : array();
		return array(
			'portal_url'  => isset( $saved['portal_url'] ) ? (string) $saved['portal_url'] : '',
			'site_origin' => isset( $saved['site_origin'] ) ? (string) $saved['site_origin'] : '',
			'languages'   => isset( $saved['languages'] ) && is_array( $saved['languages'] ) ? $saved['languages'] : array(),
		);
	}

	/**
	 * The portal's public address, without a trailing slash ('' when not set).
	 *
	 * @return string
	 */
	public static function portal_url() {
		return untrailingslashit( self::all()['portal_url'] );
	}

	/**
	 * The portal's origin (scheme://host[:port]): only its messages are believed.
	 *
	 * @return string
	 */
	public static function portal_origin() {
		return self::origin_of( self::portal_url() );
	}

	/**
	 * This site's origin as browsers see it: what the portal's frame_ancestors must list.
	 *
	 * @return string
	 */
	public static function site_origin() {
		$origin = self::all()['site_origin'];
		return $origin ? $origin : self::origin_of( home_url() );
	}

	/**
	 * The scheme, host and port of an address.
	 *
	 * @param string $url An http(s) address.
	 * @return string
	 */
	public static function origin_of( $url ) {
		$parts = wp_parse_url( $url );
		if ( empty( $parts['scheme'] ) || empty( $parts['host'] ) ) {
			return '';
		}
		return $parts['scheme'] . '://' . $parts['host'] . ( isset( $parts['port'] ) ? ':' . $parts['port'] : '' );
	}

	/**
	 * The portal language (es, eu or en) for a WordPress locale: the settings
	 * page's choice, else the locale's own language when the portal has it.
	 *
	 * @param string $locale A WordPress locale such as eu or es_ES.
	 * @return string The language, or '' to let the portal choose.
	 */
	public static function language_for( $locale ) {
		$chosen = self::all()['languages'];
		if ( ! empty( $chosen[ $locale ] ) && in_array( $chosen[ $locale ], self::LANGUAGES, true ) ) {
			return $chosen[ $locale ];
		}
		$language = strtolower( substr( $locale, 0, 2 ) );
		return in_array( $language, self::LANGUAGES, true ) ? $language : '';
	}

	/**
	 * The secret this site shares with the portal: the PREFERENCE_PORTAL_SECRET
	 * constant (wp-config.php) or the environment variable of that name.
	 *
	 * @return string The secret, or '' when it is not set.
	 */
	public static function secret() {
		if ( defined( 'PREFERENCE_PORTAL_SECRET' ) && is_string( PREFERENCE_PORTAL_SECRET ) ) {
			return PREFERENCE_PORTAL_SECRET;
		}
		$from_environment = getenv( 'PREFERENCE_PORTAL_SECRET' );
		return is_string( $from_environment ) ? $from_environment : '';
	}

	/**
	 * Whether the secret is long enough to sign assertions with.
	 *
	 * @return bool
	 */
	public static function secret_ready() {
		return strlen( self::secret() ) >= self::MIN_SECRET_LENGTH;
	}
}
