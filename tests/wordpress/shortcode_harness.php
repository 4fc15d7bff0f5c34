<?php
// Runs wordpress/preference-portal.php outside WordPress: the few WordPress
// functions it calls, reduced to what they do for these inputs, then the
// shortcode's output for the query string and locale given on the command line.
// Usage: php shortcode_harness.php PORTAL_URL QUERY_STRING LOCALE
define( 'ABSPATH', __DIR__ );
parse_str( $argv[2] ?? '', $_GET );
$GLOBALS['locale'] = $argv[3] ?? 'es_ES';
$GLOBALS['shortcodes'] = array();

class WP_User {}
function __( $text, $domain = '' ) { return $text; }
function add_shortcode( $tag, $callback ) { $GLOBALS['shortcodes'][ $tag ] = $callback; }
function add_filter( $hook, $callback, $priority = 10, $args = 1 ) {}
function shortcode_atts( $defaults, $atts, $tag = '' ) { return array_merge( $defaults, array_intersect_key( (array) $atts, $defaults ) ); }
function untrailingslashit( $value ) { return rtrim( $value, '/\\' ); }
function esc_url_raw( $url ) { return filter_var( $url, FILTER_VALIDATE_URL ) ? $url : ''; }
function esc_url( $url ) { return str_replace( '&', '&#038;', htmlspecialchars( $url, ENT_QUOTES ) ); }
function esc_attr( $text ) { return htmlspecialchars( $text, ENT_QUOTES ); }
function sanitize_text_field( $text ) { return trim( strip_tags( $text ) ); }
function wp_unslash( $value ) { return stripslashes( $value ); }
function wp_parse_url( $url ) { return parse_url( $url ); }
function wp_unique_id( $prefix = '' ) { static $n = 0; return $prefix . ( ++$n ); }
function absint( $value ) { return abs( (int) $value ); }
function wp_json_encode( $value ) { return json_encode( $value, JSON_UNESCAPED_SLASHES ); }
function determine_locale() { return $GLOBALS['locale']; }
function add_query_arg( $key, $value, $url ) { return $url . ( str_contains( $url, '?' ) ? '&' : '?' ) . rawurlencode( $key ) . '=' . rawurlencode( $value ); }

require __DIR__ . '/../../wordpress/preference-portal.php';
echo call_user_func( $GLOBALS['shortcodes']['preference_portal'], array( 'url' => $argv[1] ) );
