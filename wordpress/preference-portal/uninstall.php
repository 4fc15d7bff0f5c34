<?php
/**
 * Removes the plugin's settings when it is deleted.
 *
 * @package PreferencePortal
 */

if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
	exit;
}

delete_option( 'preference_portal_settings' );
delete_option( 'preference_portal_last_check' );
