<?php
/**
 * Plugin Name:       Preference Portal
 * Description:       Shows your contact preference portal on a page (block or shortcode). Members who are logged in see their own preferences at once, with no other sign-in.
 * Version:           1.0.0
 * Requires at least: 6.1
 * Requires PHP:      8.1
 * Author:            Contact preference portal contributors
 * License:           AGPL-3.0-or-later
 * License URI:       https://www.gnu.org/licenses/agpl-3.0.html
 * Text Domain:       preference-portal
 * Domain Path:       /languages
 *
 * @package PreferencePortal
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'PREFERENCE_PORTAL_VERSION', '1.0.0' );
define( 'PREFERENCE_PORTAL_FILE', __FILE__ );
define( 'PREFERENCE_PORTAL_DIR', plugin_dir_path( __FILE__ ) );

require_once PREFERENCE_PORTAL_DIR . 'includes/class-preference-portal-options.php';
require_once PREFERENCE_PORTAL_DIR . 'includes/class-preference-portal-assertion.php';
require_once PREFERENCE_PORTAL_DIR . 'includes/class-preference-portal-frame.php';
require_once PREFERENCE_PORTAL_DIR . 'includes/class-preference-portal-health.php';
require_once PREFERENCE_PORTAL_DIR . 'includes/class-preference-portal-settings.php';
require_once PREFERENCE_PORTAL_DIR . 'includes/oidc-claims.php';

/**
 * Loads the plugin's translations from its languages/ folder.
 */
function preference_portal_load_textdomain() {
	load_plugin_textdomain( 'preference-portal', false, dirname( plugin_basename( __FILE__ ) ) . '/languages' );
}
add_action( 'init', 'preference_portal_load_textdomain', 1 );

Preference_Portal_Frame::register();
Preference_Portal_Settings::register();
