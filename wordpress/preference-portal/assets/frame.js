/**
 * Preference portal: sends a logged-in member's entry form at once, and sizes
 * each portal frame to the height the portal reports. Messages are believed
 * only from the frame itself, at the portal's origin.
 */
( function () {
	'use strict';

	document.querySelectorAll( 'form.preference-portal-enter' ).forEach( function ( form ) {
		form.hidden = true;
		form.submit();
	} );

	document.querySelectorAll( 'iframe.preference-portal-frame' ).forEach( function ( frame ) {
		var origin = frame.getAttribute( 'data-portal-origin' );
		if ( ! origin ) {
			return;
		}
		window.addEventListener( 'message', function ( event ) {
			if ( event.origin !== origin || event.source !== frame.contentWindow ) {
				return;
			}
			var data = event.data || {};
			if ( data.type !== 'preference-portal:height' || ! ( data.height > 0 && data.height < 20000 ) ) {
				return;
			}
			frame.style.height = Math.ceil( data.height ) + 'px';
			// A new page in the frame (say, "your changes are saved"): show its top.
			if ( data.loaded && frame.getBoundingClientRect().top < -1 ) {
				frame.scrollIntoView();
			}
		} );
	} );
}() );
