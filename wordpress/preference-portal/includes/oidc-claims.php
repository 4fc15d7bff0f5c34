<?php
/**
 * For sites that use the portal's OpenID Connect login instead of assertions.
 *
 * @package PreferencePortal
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The "OpenID Connect Server" plugin sends no email claim by default; the
 * portal finds the member's contact by email, so add it.
 *
 * @param array<string, mixed> $claims The ID token's claims.
 * @param WP_User|mixed        $user   The member.
 * @return array<string, mixed>
 */
function preference_portal_oidc_claims( $claims, $user ) {
	if ( $user instanceof WP_User && ! empty( $user->user_email ) ) {
		$claims['email'] = $user->user_email;
	}
	return $claims;
}
add_filter( 'oidc_user_claims', 'preference_portal_oidc_claims', 10, 2 );
