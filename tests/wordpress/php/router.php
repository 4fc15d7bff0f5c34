<?php
// PHP's built-in server in front of Debian's WordPress: files under /wp-content/ come from the
// test site's own content folder (PORTAL_TEST_WP_CONTENT); the rest is WordPress.
$content = getenv( 'PORTAL_TEST_WP_CONTENT' );
$path    = parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH );
if ( str_starts_with( $path, '/wp-content/' ) ) {
	$file = realpath( $content . substr( $path, strlen( '/wp-content' ) ) );
	if ( $file && str_starts_with( $file, realpath( $content ) . '/' ) && is_file( $file ) && ! str_ends_with( $file, '.php' ) ) {
		$types = array( 'js' => 'text/javascript', 'css' => 'text/css', 'json' => 'application/json', 'svg' => 'image/svg+xml', 'png' => 'image/png', 'woff2' => 'font/woff2' );
		header( 'Content-Type: ' . ( $types[ strtolower( pathinfo( $file, PATHINFO_EXTENSION ) ) ] ?? 'application/octet-stream' ) );
		readfile( $file );
		return true;
	}
}
return false;
