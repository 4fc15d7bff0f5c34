<?php
/**
 * Settings, Preference portal: the portal's address, this site's origin,
 * the languages, and the connection check.
 *
 * @package PreferencePortal
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The settings page (Settings API, manage_options).
 */
class Preference_Portal_Settings {

	const PAGE       = 'preference-portal';
	const GROUP      = 'preference_portal';
	const CHECK      = 'preference_portal_check';
	const LAST_CHECK = 'preference_portal_last_check';

	/**
	 * Hooks the page in.
	 */
	public static function register() {
		add_action( 'admin_menu', array( __CLASS__, 'add_page' ) );
		add_action( 'admin_init', array( __CLASS__, 'register_settings' ) );
		add_action( 'admin_post_' . self::CHECK, array( __CLASS__, 'check_connection' ) );
		add_filter( 'plugin_action_links_' . plugin_basename( PREFERENCE_PORTAL_FILE ), array( __CLASS__, 'action_links' ) );
	}

	/**
	 * Adds Settings, Preference portal.
	 */
	public static function add_page() {
		add_options_page(
			__( 'Preference portal', 'preference-portal' ),
			__( 'Preference portal', 'preference-portal' ),
			'manage_options',
			self::PAGE,
			array( __CLASS__, 'render_page' )
		);
	}

	/**
	 * A "Settings" link on the Plugins screen.
	 *
	 * @param string[] $links The plugin's action links.
	 * @return string[]
	 */
	public static function action_links( $links ) {
		$links[] = sprintf(
			'<a href="%1$s">%2$s</a>',
			esc_url( admin_url( 'options-general.php?page=' . self::PAGE ) ),
			esc_html__( 'Settings', 'preference-portal' )
		);
		return $links;
	}

	/**
	 * The option, its section and its fields.
	 */
	public static function register_settings() {
		register_setting(
			self::GROUP,
			Preference_Portal_Options::OPTION,
			array(
				'type'              => 'array',
				'sanitize_callback' => array( __CLASS__, 'sanitize' ),
				'default'           => array(),
			)
		);
		add_settings_section( 'preference_portal_main', __( 'The portal', 'preference-portal' ), '__return_false', self::PAGE );
		add_settings_field(
			'portal_url',
			__( 'Portal address', 'preference-portal' ),
			array( __CLASS__, 'field_portal_url' ),
			self::PAGE,
			'preference_portal_main',
			array( 'label_for' => 'preference-portal-url' )
		);
		add_settings_field(
			'site_origin',
			__( 'This site\'s origin', 'preference-portal' ),
			array( __CLASS__, 'field_site_origin' ),
			self::PAGE,
			'preference_portal_main',
			array( 'label_for' => 'preference-portal-origin' )
		);
		add_settings_section(
			'preference_portal_languages',
			__( 'Languages', 'preference-portal' ),
			array( __CLASS__, 'languages_intro' ),
			self::PAGE
		);
		foreach ( self::site_locales() as $locale ) {
			add_settings_field(
				'language_' . $locale,
				esc_html( $locale ),
				array( __CLASS__, 'field_language' ),
				self::PAGE,
				'preference_portal_languages',
				array(
					'label_for' => 'preference-portal-language-' . $locale,
					'locale'    => $locale,
				)
			);
		}
	}

	/**
	 * The WordPress locales this site has: its installed languages and English.
	 *
	 * @return string[]
	 */
	private static function site_locales() {
		return array_values( array_unique( array_merge( array( get_locale() ), get_available_languages(), array( 'en_US' ) ) ) );
	}

	/**
	 * Checks what the form sends.
	 *
	 * @param mixed $input The submitted settings.
	 * @return array<string, mixed>
	 */
	public static function sanitize( $input ) {
		$input   = is_array( $input ) ? $input : array();
		$current = Preference_Portal_Options::all();
		$url     = isset( $input['portal_url'] ) ? esc_url_raw( trim( (string) $input['portal_url'] ), array( 'http', 'https' ) ) : '';
		if ( isset( $input['portal_url'] ) && '' !== trim( (string) $input['portal_url'] ) && ! $url ) {
			add_settings_error( Preference_Portal_Options::OPTION, 'portal_url', __( 'The portal\'s address must start with https:// (or http://).', 'preference-portal' ) );
			$url = $current['portal_url'];
		}
		$origin = isset( $input['site_origin'] ) ? trim( (string) $input['site_origin'] ) : '';
		if ( '' !== $origin && ! preg_match( '#^https?://[A-Za-z0-9.-]+(:\d{1,5})?$#', $origin ) ) {
			add_settings_error( Preference_Portal_Options::OPTION, 'site_origin', __( 'This site\'s origin must look like https://www.example.org: a scheme and a host, with a port if it has one, and no path.', 'preference-portal' ) );
			$origin = $current['site_origin'];
		}
		$languages = array();
		foreach ( (array) ( $input['languages'] ?? array() ) as $locale => $language ) {
			if ( preg_match( '/^[A-Za-z_]{2,12}$/', (string) $locale ) && in_array( $language, Preference_Portal_Options::LANGUAGES, true ) ) {
				$languages[ (string) $locale ] = $language;
			}
		}
		return array(
			'portal_url'  => untrailingslashit( $url ),
			'site_origin' => $origin,
			'languages'   => $languages,
		);
	}

	/**
	 * The portal address field.
	 */
	public static function field_portal_url() {
		printf(
			'<input type="url" class="regular-text code" id="preference-portal-url" name="%1$s[portal_url]" value="%2$s" placeholder="https://preferencias.example.org" aria-describedby="preference-portal-url-help"><p class="description" id="preference-portal-url-help">%3$s</p>',
			esc_attr( Preference_Portal_Options::OPTION ),
			esc_attr( Preference_Portal_Options::portal_url() ),
			esc_html__( 'Where the portal is served, as its public_url says. Members\' sign-ins are made out to this address.', 'preference-portal' )
		);
	}

	/**
	 * The origin field.
	 */
	public static function field_site_origin() {
		printf(
			'<input type="text" class="regular-text code" id="preference-portal-origin" name="%1$s[site_origin]" value="%2$s" placeholder="%3$s" aria-describedby="preference-portal-origin-help"><p class="description" id="preference-portal-origin-help">%4$s</p>',
			esc_attr( Preference_Portal_Options::OPTION ),
			esc_attr( Preference_Portal_Options::all()['site_origin'] ),
			esc_attr( Preference_Portal_Options::origin_of( home_url() ) ),
			esc_html__( 'The origin your visitors see this site at. The portal must allow it to show the portal in a frame (its frame_ancestors). Leave it empty to use this site\'s address.', 'preference-portal' )
		);
	}

	/**
	 * Explains the language mapping.
	 */
	public static function languages_intro() {
		echo '<p>' . esc_html__( 'The portal speaks Spanish, Basque and English. Choose the portal language for each language of this site.', 'preference-portal' ) . '</p>';
	}

	/**
	 * One locale's portal language.
	 *
	 * @param array{locale: string, label_for: string} $args The field's locale.
	 */
	public static function field_language( $args ) {
		$names   = array(
			''   => __( 'As the visitor\'s browser asks', 'preference-portal' ),
			'es' => __( 'Spanish', 'preference-portal' ),
			'eu' => __( 'Basque', 'preference-portal' ),
			'en' => __( 'English', 'preference-portal' ),
		);
		$current = Preference_Portal_Options::language_for( $args['locale'] );
		printf(
			'<select id="%1$s" name="%2$s[languages][%3$s]">',
			esc_attr( $args['label_for'] ),
			esc_attr( Preference_Portal_Options::OPTION ),
			esc_attr( $args['locale'] )
		);
		foreach ( $names as $code => $name ) {
			printf( '<option value="%1$s"%2$s>%3$s</option>', esc_attr( $code ), selected( $current, $code, false ), esc_html( $name ) );
		}
		echo '</select>';
	}

	/**
	 * The page.
	 */
	public static function render_page() {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		echo '<div class="wrap"><h1>' . esc_html( get_admin_page_title() ) . '</h1>';
		self::render_last_check();
		echo '<form method="post" action="options.php">';
		settings_fields( self::GROUP );
		do_settings_sections( self::PAGE );
		submit_button();
		echo '</form>';

		echo '<h2>' . esc_html__( 'Connection', 'preference-portal' ) . '</h2>';
		echo '<p>' . esc_html__( 'Asks the portal whether it answers, allows this site to show it, keeps the same time and shares this site\'s secret.', 'preference-portal' ) . '</p>';
		printf( '<form method="post" action="%s">', esc_url( admin_url( 'admin-post.php' ) ) );
		printf( '<input type="hidden" name="action" value="%s">', esc_attr( self::CHECK ) );
		wp_nonce_field( self::CHECK );
		submit_button( __( 'Check connection', 'preference-portal' ), 'secondary', 'check', false );
		echo '</form>';

		echo '<h2>' . esc_html__( 'On a page', 'preference-portal' ) . '</h2>';
		echo '<p>' . esc_html__( 'Add the "Preference portal" block to a page, or write the shortcode [preference_portal]. Members who are logged in see their own preferences at once; other visitors can ask for a sign-in link by email.', 'preference-portal' ) . '</p>';
		echo '</div>';
	}

	/**
	 * The findings of the last check, as notices.
	 */
	private static function render_last_check() {
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- only chooses whether to show the stored findings.
		if ( empty( $_GET['checked'] ) ) {
			return;
		}
		$findings = get_option( self::LAST_CHECK, array() );
		if ( ! is_array( $findings ) || ! $findings ) {
			return;
		}
		$all_ok = ! in_array( false, array_column( $findings, 'ok' ), true );
		printf(
			'<div class="notice %1$s preference-portal-check" role="%2$s"><p><strong>%3$s</strong></p><ul>',
			esc_attr( $all_ok ? 'notice-success' : 'notice-error' ),
			esc_attr( $all_ok ? 'status' : 'alert' ),
			esc_html( $all_ok ? __( 'All is well.', 'preference-portal' ) : __( 'Something needs fixing:', 'preference-portal' ) )
		);
		foreach ( $findings as $finding ) {
			printf(
				'<li class="%1$s"><span class="dashicons %2$s" aria-hidden="true"></span> <span class="screen-reader-text">%3$s</span> %4$s</li>',
				esc_attr( $finding['ok'] ? 'ok' : 'problem' ),
				esc_attr( $finding['ok'] ? 'dashicons-yes-alt' : 'dashicons-warning' ),
				esc_html( $finding['ok'] ? __( 'Works:', 'preference-portal' ) : __( 'To fix:', 'preference-portal' ) ),
				esc_html( $finding['text'] )
			);
		}
		echo '</ul></div>';
	}

	/**
	 * Runs the check (from the page's button) and shows its findings.
	 */
	public static function check_connection() {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'You may not change these settings.', 'preference-portal' ), '', array( 'response' => 403 ) );
		}
		check_admin_referer( self::CHECK );
		update_option( self::LAST_CHECK, Preference_Portal_Health::run(), false );
		wp_safe_redirect( admin_url( 'options-general.php?page=' . self::PAGE . '&checked=1' ) );
		exit;
	}
}
