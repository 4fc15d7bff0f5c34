<?php
/**
 * The portal on a page: the block, the shortcode and the full-window entry.
 *
 * @package PreferencePortal
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Renders the portal's frame. For a logged-in member the frame is loaded by
 * posting a signed assertion to the portal (never in a URL); for everyone
 * else it opens the portal's start page, or the page an emailed link names.
 */
class Preference_Portal_Frame {

	const BLOCK     = 'preference-portal/portal';
	const SHORTCODE = 'preference_portal';
	const SCRIPT    = 'preference-portal-frame';
	const EDITOR    = 'preference-portal-editor';

	/** The query variable of the full-window entry (reverse-proxy mode). */
	const ENTER_VAR = 'preference_portal';

	/** The portal pages an emailed link may ask this page to frame. */
	const LANDING_PATH = '#^/(link|n)/[A-Za-z0-9._-]+$#';

	/**
	 * Hooks everything in.
	 */
	public static function register() {
		add_action( 'init', array( __CLASS__, 'register_block' ) );
		add_shortcode( self::SHORTCODE, array( __CLASS__, 'shortcode' ) );
		add_filter( 'query_vars', array( __CLASS__, 'query_vars' ) );
		add_action( 'template_redirect', array( __CLASS__, 'template_redirect' ) );
		add_filter( 'allowed_redirect_hosts', array( __CLASS__, 'allowed_redirect_hosts' ) );
	}

	/**
	 * Registers the scripts and the block (block.json, rendered on the server).
	 */
	public static function register_block() {
		$url = plugin_dir_url( PREFERENCE_PORTAL_FILE );
		wp_register_script( self::SCRIPT, $url . 'assets/frame.js', array(), PREFERENCE_PORTAL_VERSION, true );
		wp_register_script(
			self::EDITOR,
			$url . 'assets/editor.js',
			array( 'wp-blocks', 'wp-element', 'wp-block-editor', 'wp-components', 'wp-i18n' ),
			PREFERENCE_PORTAL_VERSION,
			true
		);
		wp_set_script_translations( self::EDITOR, 'preference-portal', PREFERENCE_PORTAL_DIR . 'languages' );
		wp_add_inline_script(
			self::EDITOR,
			'window.preferencePortalEditor = ' . wp_json_encode( array( 'portal' => Preference_Portal_Options::portal_url() ) ) . ';',
			'before'
		);
		register_block_type(
			PREFERENCE_PORTAL_DIR . 'block',
			array( 'render_callback' => array( __CLASS__, 'render_block' ) )
		);
	}

	/**
	 * The block's markup.
	 *
	 * @param array<string, mixed> $attributes The block's attributes.
	 * @return string
	 */
	public static function render_block( $attributes ) {
		$height = isset( $attributes['height'] ) ? absint( $attributes['height'] ) : 0;
		return self::render( $height, get_block_wrapper_attributes( array( 'class' => 'preference-portal' ) ) );
	}

	/**
	 * The shortcode: [preference_portal height="900"].
	 *
	 * @param array<string, string>|string $atts The shortcode's attributes.
	 * @return string
	 */
	public static function shortcode( $atts ) {
		$atts = shortcode_atts( array( 'height' => '900' ), $atts, self::SHORTCODE );
		return self::render( absint( $atts['height'] ), 'class="preference-portal"' );
	}

	/**
	 * The frame, and for a logged-in member the form that fills it.
	 *
	 * @param int    $height  The frame's height until the portal tells its own.
	 * @param string $wrapper The wrapper's attributes, already escaped.
	 * @return string
	 */
	public static function render( $height, $wrapper ) {
		$portal = Preference_Portal_Options::portal_url();
		if ( ! $portal ) {
			return current_user_can( 'manage_options' ) ? self::not_configured() : '';
		}
		$height   = $height >= 200 ? min( $height, 5000 ) : 900;
		$name     = 'preference-portal-' . wp_unique_id();
		$language = Preference_Portal_Options::language_for( determine_locale() );
		$path     = self::landing_path();
		$form     = '';
		$src      = $portal . ( $path ? $path : '/' );
		if ( ! $path && is_user_logged_in() ) {
			$form = self::entry_form( $name, $language );
		}
		if ( $form ) {
			$src = 'about:blank';
		} elseif ( $language ) {
			$src = add_query_arg( 'lang', $language, $src );
		}
		wp_enqueue_script( self::SCRIPT );
		$frame = sprintf(
			'<iframe name="%1$s" class="preference-portal-frame" src="%2$s" title="%3$s" data-portal-origin="%4$s" loading="eager" width="100%%" height="%5$d" style="border:0;width:100%%;min-height:480px"></iframe>',
			esc_attr( $name ),
			esc_url( $src, array( 'http', 'https', 'about' ) ),
			esc_attr__( 'Your preferences', 'preference-portal' ),
			esc_attr( Preference_Portal_Options::portal_origin() ),
			$height
		);
		// The wrapper's attributes come escaped from get_block_wrapper_attributes() or as a literal.
		return '<div ' . $wrapper . '>' . $form . $frame . '</div>';
	}

	/**
	 * A form that posts the member's assertion to the portal; frame.js sends
	 * it at once, and without JavaScript its button does.
	 *
	 * @param string $target   The frame's name, or _self for the whole window.
	 * @param string $language The portal language, or ''.
	 * @return string The form, or '' when no assertion can be made.
	 */
	public static function entry_form( $target, $language ) {
		$assertion = Preference_Portal_Assertion::for_member( wp_get_current_user() );
		if ( ! $assertion ) {
			return '';
		}
		$action = Preference_Portal_Options::portal_url() . '/wordpress/enter';
		if ( $language ) {
			$action = add_query_arg( 'lang', $language, $action );
		}
		return sprintf(
			'<form class="preference-portal-enter" method="post" action="%1$s" target="%2$s"><input type="hidden" name="assertion" value="%3$s"><button type="submit">%4$s</button></form>',
			esc_url( $action ),
			esc_attr( $target ),
			esc_attr( $assertion ),
			esc_html__( 'Continue to your preferences', 'preference-portal' )
		);
	}

	/**
	 * The portal page an emailed link asked for (?portal_path=/link/...), or ''.
	 *
	 * @return string
	 */
	private static function landing_path() {
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- a link from an email, not a form.
		$path = isset( $_GET['portal_path'] ) ? sanitize_text_field( wp_unslash( $_GET['portal_path'] ) ) : '';
		return preg_match( self::LANDING_PATH, $path ) ? $path : '';
	}

	/**
	 * What an administrator sees where the frame would be, before the settings are filled.
	 *
	 * @return string
	 */
	private static function not_configured() {
		return sprintf(
			'<p class="preference-portal-notice"><a href="%1$s">%2$s</a></p>',
			esc_url( admin_url( 'options-general.php?page=' . Preference_Portal_Settings::PAGE ) ),
			esc_html__( 'Set the portal\'s address in Settings, Preference portal, to show the portal here.', 'preference-portal' )
		);
	}

	/**
	 * Adds the entry's query variable.
	 *
	 * @param string[] $vars The public query variables.
	 * @return string[]
	 */
	public static function query_vars( $vars ) {
		$vars[] = self::ENTER_VAR;
		return $vars;
	}

	/**
	 * The full-window entry (?preference_portal=enter) for a portal served
	 * under this site's domain; and no caching of pages that hold an assertion.
	 */
	public static function template_redirect() {
		if ( 'enter' === get_query_var( self::ENTER_VAR ) ) {
			self::enter_page();
			exit;
		}
		if ( is_user_logged_in() && is_singular() ) {
			$post = get_post();
			if ( $post && ( has_block( self::BLOCK, $post ) || has_shortcode( $post->post_content, self::SHORTCODE ) ) ) {
				nocache_headers();
			}
		}
	}

	/**
	 * The page that sends a logged-in member into the portal in the whole window.
	 */
	private static function enter_page() {
		$portal = Preference_Portal_Options::portal_url();
		if ( ! $portal ) {
			wp_die( esc_html__( 'The preference portal is not set up yet.', 'preference-portal' ), '', array( 'response' => 404 ) );
		}
		$language = Preference_Portal_Options::language_for( determine_locale() );
		$form     = is_user_logged_in() ? self::entry_form( '_self', $language ) : '';
		if ( ! $form ) {
			wp_safe_redirect( add_query_arg( 'lang', $language ? $language : false, $portal . '/' ) );
			return;
		}
		nocache_headers();
		wp_enqueue_script( self::SCRIPT );
		printf(
			'<!doctype html><html %1$s><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>%2$s</title></head><body><main><h1>%2$s</h1>',
			get_language_attributes(), // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped by WordPress.
			esc_html__( 'Your preferences', 'preference-portal' )
		);
		echo $form; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- built with esc_* in entry_form().
		echo '</main>';
		wp_print_scripts( array( self::SCRIPT ) );
		echo '</body></html>';
	}

	/**
	 * Lets wp_safe_redirect() send visitors to the portal.
	 *
	 * @param string[] $hosts The hosts redirects may go to.
	 * @return string[]
	 */
	public static function allowed_redirect_hosts( $hosts ) {
		$host = wp_parse_url( Preference_Portal_Options::portal_url(), PHP_URL_HOST );
		if ( $host ) {
			$hosts[] = $host;
		}
		return $hosts;
	}
}
