<?php
/**
 * The settings page's "Check connection": asks the portal and says in plain
 * words what is wrong.
 *
 * @package PreferencePortal
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Checks the address, the framing permission, the clocks and the shared secret.
 */
class Preference_Portal_Health {

	/** Seconds the clocks may differ; the portal tolerates as much. */
	const CLOCK_LEEWAY = 30;

	/**
	 * Runs every check.
	 *
	 * @return array<int, array{ok: bool, text: string}> One line per finding.
	 */
	public static function run() {
		$portal = Preference_Portal_Options::portal_url();
		if ( ! $portal ) {
			return array( self::problem( __( 'Fill in the portal\'s address and save the settings first.', 'preference-portal' ) ) );
		}
		$origin = Preference_Portal_Options::site_origin();
		$answer = wp_remote_get(
			add_query_arg( 'origin', rawurlencode( $origin ), $portal . '/wordpress/health' ),
			array( 'timeout' => 10 )
		);
		if ( is_wp_error( $answer ) ) {
			return array(
				self::problem(
					/* translators: 1: the portal's address, 2: the error, as the network library tells it. */
					sprintf( __( 'The portal\'s address %1$s cannot be reached from this site: %2$s', 'preference-portal' ), $portal, $answer->get_error_message() )
				),
			);
		}
		$health = json_decode( wp_remote_retrieve_body( $answer ), true );
		if ( 200 !== wp_remote_retrieve_response_code( $answer ) || ! is_array( $health ) || 'preference-portal' !== ( $health['service'] ?? '' ) ) {
			return array(
				self::problem(
					/* translators: 1: the portal's address, 2: an HTTP status code such as 404. */
					sprintf( __( 'Something answers at %1$s, but it is not the preference portal (HTTP status %2$d). Check the address.', 'preference-portal' ), $portal, (int) wp_remote_retrieve_response_code( $answer ) )
				),
			);
		}
		$found   = array(
			self::success(
				/* translators: %s: the portal's version number. */
				sprintf( __( 'The portal answers (version %s).', 'preference-portal' ), (string) ( $health['version'] ?? '?' ) )
			),
		);
		$found[] = empty( $health['origin_allowed'] )
			? self::problem(
				/* translators: %s: this site's origin, such as https://www.example.org. */
				sprintf( __( 'The portal does not allow this site to show it in a frame: add %s to frame_ancestors in the [embed] section of the portal\'s configuration.', 'preference-portal' ), $origin )
			)
			: self::success( __( 'The portal allows this site to show it in a frame.', 'preference-portal' ) );
		$apart   = abs( time() - (int) ( $health['time'] ?? 0 ) );
		$found[] = $apart > self::CLOCK_LEEWAY
			? self::problem(
				/* translators: %d: a number of seconds. */
				sprintf( __( 'The clocks of this site and of the portal are %d seconds apart; members can only be signed in when they agree within 30 seconds. Set both servers to keep time automatically (NTP).', 'preference-portal' ), $apart )
			)
			: self::success( __( 'The clocks of this site and of the portal agree.', 'preference-portal' ) );
		return array_merge( $found, self::secret_findings( $portal, $health, $apart ) );
	}

	/**
	 * What stands in the way of signing members in with no click.
	 *
	 * @param string               $portal The portal's address.
	 * @param array<string, mixed> $health The portal's health answer.
	 * @param int                  $apart  Seconds between the two clocks.
	 * @return array<int, array{ok: bool, text: string}>
	 */
	private static function secret_findings( $portal, $health, $apart ) {
		if ( ! Preference_Portal_Options::secret() ) {
			return array( self::problem( __( 'The shared secret is missing on this site: add define( \'PREFERENCE_PORTAL_SECRET\', \'...\' ); to wp-config.php, with the value of PORTAL_WORDPRESS_ASSERTION_SECRET on the portal.', 'preference-portal' ) ) );
		}
		if ( ! Preference_Portal_Options::secret_ready() ) {
			return array( self::problem( __( 'The shared secret in wp-config.php is too short: use 32 characters or more, the same on this site and on the portal.', 'preference-portal' ) ) );
		}
		if ( empty( $health['assertion'] ) ) {
			/* translators: %s: this site's address. */
			return array( self::problem( sprintf( __( 'The portal does not accept members from this site yet: set assertion = true and site_url = "%s" in the [wordpress] section of its configuration.', 'preference-portal' ), home_url() ) ) );
		}
		if ( empty( $health['secret_set'] ) ) {
			return array( self::problem( __( 'The shared secret is missing on the portal: set PORTAL_WORDPRESS_ASSERTION_SECRET in its environment, with the value of PREFERENCE_PORTAL_SECRET here.', 'preference-portal' ) ) );
		}
		$answer = wp_remote_post(
			$portal . '/wordpress/health',
			array(
				'timeout' => 10,
				'body'    => array( 'assertion' => Preference_Portal_Assertion::for_check() ),
			)
		);
		$result = is_wp_error( $answer ) ? null : json_decode( wp_remote_retrieve_body( $answer ), true );
		$result = is_array( $result ) ? (string) ( $result['result'] ?? '' ) : '';
		switch ( $result ) {
			case 'ok':
				return array( self::success( __( 'The shared secret is the same on this site and on the portal: members who are logged in reach their preferences with no further click.', 'preference-portal' ) ) );
			case 'signature':
				return array( self::problem( __( 'The shared secret is different on this site and on the portal: PREFERENCE_PORTAL_SECRET here and PORTAL_WORDPRESS_ASSERTION_SECRET on the portal must be the same.', 'preference-portal' ) ) );
			case 'issuer':
				/* translators: 1: the address the portal expects, 2: this site's address. */
				return array( self::problem( sprintf( __( 'The portal expects members from %1$s, but this site is %2$s: set site_url = "%2$s" in the [wordpress] section of its configuration.', 'preference-portal' ), (string) ( $health['site_url'] ?? '' ), home_url() ) ) );
			case 'audience':
				/* translators: 1: the address the portal gives itself, 2: the address on this settings page. */
				return array( self::problem( sprintf( __( 'The portal calls itself %1$s, but the address here is %2$s: use the same address in both places (the portal\'s public_url).', 'preference-portal' ), (string) ( $health['audience'] ?? '' ), $portal ) ) );
			case 'expired':
				if ( $apart > self::CLOCK_LEEWAY ) {
					return array(); // Already said: the clocks are apart.
				}
				return array( self::problem( __( 'The portal finds this site\'s test sign-in expired: the clocks of the two servers are too far apart.', 'preference-portal' ) ) );
			default:
				return array( self::problem( __( 'The portal did not accept this site\'s test sign-in. Check that both sides run their latest versions.', 'preference-portal' ) ) );
		}
	}

	/**
	 * A finding that needs fixing.
	 *
	 * @param string $text What is wrong and how to fix it.
	 * @return array{ok: bool, text: string}
	 */
	private static function problem( $text ) {
		return array(
			'ok'   => false,
			'text' => $text,
		);
	}

	/**
	 * A finding that is fine.
	 *
	 * @param string $text What works.
	 * @return array{ok: bool, text: string}
	 */
	private static function success( $text ) {
		return array(
			'ok'   => true,
			'text' => $text,
		);
	}
}
