/**
 * Preference portal block, in the editor: a placeholder where the portal's
 * frame will be (the page renders the frame on the server) and the frame's
 * starting height. Plain JavaScript on the wp.* globals: no build step.
 */
( function ( blocks, element, blockEditor, components, i18n ) {
	'use strict';

	var el = element.createElement;
	var __ = i18n.__;
	var settings = window.preferencePortalEditor || {};

	blocks.registerBlockType( 'preference-portal/portal', {
		edit: function ( props ) {
			var height = props.attributes.height;
			var where = settings.portal ?
				i18n.sprintf( __( 'The portal at %s shows here on the published page.', 'preference-portal' ), settings.portal ) :
				__( 'Set the portal\'s address in Settings, Preference portal, first.', 'preference-portal' );
			return el(
				'div',
				blockEditor.useBlockProps( { className: 'preference-portal-placeholder' } ),
				el(
					blockEditor.InspectorControls,
					null,
					el(
						components.PanelBody,
						{ title: __( 'Frame', 'preference-portal' ) },
						el( components.RangeControl, {
							label: __( 'Starting height (pixels)', 'preference-portal' ),
							help: __( 'The frame takes the height of the portal\'s page as soon as it loads.', 'preference-portal' ),
							min: 480,
							max: 2000,
							step: 20,
							value: height,
							onChange: function ( value ) {
								props.setAttributes( { height: value || 900 } );
							}
						} )
					)
				),
				el( components.Placeholder, {
					icon: 'email-alt',
					label: __( 'Preference portal', 'preference-portal' ),
					instructions: where
				} )
			);
		},
		save: function () {
			return null;
		}
	} );
}( window.wp.blocks, window.wp.element, window.wp.blockEditor, window.wp.components, window.wp.i18n ) );
