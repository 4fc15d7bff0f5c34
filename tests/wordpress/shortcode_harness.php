<?php
// Runs the plugin's [preference_portal] shortcode outside WordPress, for the host
// page of tests/browser/host.py: the WordPress functions the plugin calls, reduced
// to what they do for a visitor who is not logged in, then the shortcode's output
// and the script WordPress would print in the page's footer.
// Usage: php shortcode_harness.php PORTAL_URL QUERY_STRING LOCALE
define( 'ABSPATH', __DIR__ );
parse_str( $argv[2] ?? '', $_GET );
$GLOBALS['locale']     = $argv[3] ?? 'es_ES';
$GLOBALS['shortcodes'] = array();
$GLOBALS['options']    = array( 'preference_portal_settings' => array( 'portal_url' => $argv[1] ) );
$plugin                = dirname( __DIR__, 2 ) . '/wordpress/preference-portal/';

class WP_User {}
function __( $text, $domain = '' ) { return $text; }
function esc_attr__( $text, $domain = '' ) { return esc_attr( $text ); }
function esc_html__( $text, $domain = '' ) { return esc_attr( $text ); }
function add_action( $hook, $callback, $priority = 10, $args = 1 ) {}
function add_filter( $hook, $callback, $priority = 10, $args = 1 ) {}
function add_shortcode( $tag, $callback ) { $GLOBALS['shortcodes'][ $tag ] = $callback; }
function plugin_dir_path( $file ) { return dirname( $file ) . '/'; }
function plugin_basename( $file ) { return basename( dirname( $file ) ) . '/' . basename( $file ); }
function get_option( $name, $default = false ) { return $GLOBALS['options'][ $name ] ?? $default; }
function shortcode_atts( $defaults, $atts, $tag = '' ) { return array_merge( $defaults, array_intersect_key( (array) $atts, $defaults ) ); }
function untrailingslashit( $value ) { return rtrim( $value, '/\\' ); }
function esc_url( $url, $protocols = null ) { return str_replace( '&', '&#038;', htmlspecialchars( $url, ENT_QUOTES ) ); }
function esc_attr( $text ) { return htmlspecialchars( $text, ENT_QUOTES ); }
function sanitize_text_field( $text ) { return trim( strip_tags( $text ) ); }
function wp_unslash( $value ) { return stripslashes( $value ); }
function wp_parse_url( $url, $component = -1 ) { return parse_url( $url, $component ); }
function wp_unique_id( $prefix = '' ) { static $n = 0; return $prefix . ( ++$n ); }
function absint( $value ) { return abs( (int) $value ); }
function determine_locale() { return $GLOBALS['locale']; }
function is_user_logged_in() { return false; }
function current_user_can( $capability ) { return false; }
function wp_enqueue_script( $handle ) {}
function add_query_arg( $key, $value, $url ) { return $url . ( str_contains( $url, '?' ) ? '&' : '?' ) . rawurlencode( $key ) . '=' . rawurlencode( $value ); }

require $plugin . 'preference-portal.php';
echo call_user_func( $GLOBALS['shortcodes']['preference_portal'], array() );
echo '<script>' . file_get_contents( $plugin . 'assets/frame.js' ) . '</script>';
