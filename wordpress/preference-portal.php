<?php
/**
 * Plugin Name: Preference portal
 * Description: Embeds the contact preference portal with the [preference_portal] shortcode, sizes its frame to its content, and (optionally) adds the email claim the portal's WordPress login needs to the "OpenID Connect Server" plugin.
 * Version: 0.1.0
 * License: AGPL-3.0-or-later
 *
 * Install: copy this file to wp-content/plugins/ (or wp-content/mu-plugins/),
 * activate it, and in wp-config.php set the portal's address:
 *
 *     define( 'PREFERENCE_PORTAL_URL', 'https://preferencias.example.org' );
 *
 * Then put [preference_portal] on a page. Set that page's URL as the portal's
 * [embed] landing_url so that emailed sign-in links open it.
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** The portal's address without a trailing slash. */
function preference_portal_url( $override = '' ) {
	$url = $override ? $override : ( defined( 'PREFERENCE_PORTAL_URL' ) ? PREFERENCE_PORTAL_URL : '' );
	return untrailingslashit( esc_url_raw( $url ) );
}

/**
 * [preference_portal url="https://preferencias.example.org" title="Your preferences" height="900"]
 */
function preference_portal_shortcode( $atts ) {
	$atts   = shortcode_atts(
		array(
			'url'    => '',
			'title'  => __( 'Your preferences', 'preference-portal' ),
			'height' => '900',
		),
		$atts,
		'preference_portal'
	);
	$portal = preference_portal_url( $atts['url'] );
	if ( ! $portal ) {
		return '';
	}
	$src = $portal . '/';
	// An emailed sign-in link lands here with ?portal_path=/link/<token>: frame that page.
	// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- a link, not a form.
	$path = isset( $_GET['portal_path'] ) ? sanitize_text_field( wp_unslash( $_GET['portal_path'] ) ) : '';
	if ( preg_match( '#^/(link|n)/[A-Za-z0-9._-]+$#', $path ) ) {
		$src = $portal . $path;
	}
	// Speak the site's language (es, eu or en) in the frame too.
	$lang = strtolower( substr( determine_locale(), 0, 2 ) );
	if ( in_array( $lang, array( 'es', 'eu', 'en' ), true ) ) {
		$src = add_query_arg( 'lang', $lang, $src );
	}
	$parts  = wp_parse_url( $portal );
	$origin = $parts['scheme'] . '://' . $parts['host'] . ( isset( $parts['port'] ) ? ':' . $parts['port'] : '' );
	$id     = 'preference-portal-' . wp_unique_id();

	$html  = sprintf(
		'<iframe id="%1$s" class="preference-portal-frame" src="%2$s" title="%3$s" width="100%%" height="%4$d" style="border:0;width:100%%;min-height:480px"></iframe>',
		esc_attr( $id ),
		esc_url( $src ),
		esc_attr( $atts['title'] ),
		absint( $atts['height'] )
	);
	$html .= sprintf(
		'<script>(function(){var o=%1$s,f=document.getElementById(%2$s);window.addEventListener("message",function(e){if(e.origin!==o||e.source!==f.contentWindow){return;}var d=e.data||{};if(d.type==="preference-portal:height"&&d.height>0&&d.height<20000){f.style.height=Math.ceil(d.height)+"px";if(d.loaded&&f.getBoundingClientRect().top<-1){f.scrollIntoView();}}});})();</script>',
		wp_json_encode( $origin ),
		wp_json_encode( $id )
	);
	return $html;
}
add_shortcode( 'preference_portal', 'preference_portal_shortcode' );

/**
 * The "OpenID Connect Server" plugin sends no email claim by default; the
 * portal finds the contact by email, so add it (with the "profile" scope).
 */
function preference_portal_oidc_claims( $claims, $user ) {
	if ( $user instanceof WP_User && ! empty( $user->user_email ) ) {
		$claims['email'] = $user->user_email;
	}
	return $claims;
}
add_filter( 'oidc_user_claims', 'preference_portal_oidc_claims', 10, 2 );
