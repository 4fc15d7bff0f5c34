<?php
/**
 * Signed assertions: who is viewing the page, for the portal.
 *
 * @package PreferencePortal
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Makes the short-lived HS256 JWTs the portal's WordPress door accepts.
 */
class Preference_Portal_Assertion {

	/** Seconds an assertion lives: long enough for the frame to load, no more. */
	const LIFETIME = 60;

	/**
	 * An assertion about a member, made out to the portal.
	 *
	 * @param WP_User $user The member viewing the page.
	 * @return string The JWT, or '' when the secret or the portal's address is missing.
	 */
	public static function for_member( WP_User $user ) {
		return self::sign(
			array(
				'sub'    => (string) $user->ID,
				'email'  => $user->user_email,
				'name'   => $user->display_name,
				'roles'  => array_values( (array) $user->roles ),
				'locale' => get_user_locale( $user ),
			)
		);
	}

	/**
	 * An assertion that signs nobody in: the settings page's check of the secret.
	 *
	 * @return string
	 */
	public static function for_check() {
		return self::sign( array( 'purpose' => 'check' ) );
	}

	/**
	 * Adds the standard claims and signs.
	 *
	 * @param array<string, mixed> $claims The claims about the member.
	 * @return string
	 */
	private static function sign( array $claims ) {
		$secret = Preference_Portal_Options::secret();
		$portal = Preference_Portal_Options::portal_url();
		if ( ! Preference_Portal_Options::secret_ready() || ! $portal ) {
			return '';
		}
		$now     = time();
		$claims  = array(
			'iss' => home_url(),
			'aud' => $portal,
			'iat' => $now,
			'exp' => $now + self::LIFETIME,
			'jti' => bin2hex( random_bytes( 16 ) ),
		) + $claims;
		$header  = array(
			'alg' => 'HS256',
			'typ' => 'JWT',
		);
		$signing = self::encode( (string) wp_json_encode( $header ) ) . '.' . self::encode( (string) wp_json_encode( $claims ) );
		return $signing . '.' . self::encode( hash_hmac( 'sha256', $signing, $secret, true ) );
	}

	/**
	 * Base64url without padding, as JWTs use.
	 *
	 * @param string $bytes Raw bytes.
	 * @return string
	 */
	private static function encode( $bytes ) {
		// phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode -- JWT encoding, not obfuscation.
		return rtrim( strtr( base64_encode( $bytes ), '+/', '-_' ), '=' );
	}
}
