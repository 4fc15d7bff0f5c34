"""The contact's rights: a verified change of address, a receipt for every
change, consent records, "My history", "My data" and "Forget me".

What every door calls (consent records, receipts, address change requests)
is in portal.rights.records, below the doors; the pages are here, above the
profile's, which links to them. Imports stay inside `init_app`, so that the
migrations can load portal.rights.models alone."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from portal.rights import records, state, views

    records.init_app(app)
    app.extensions[state.EXTENSION] = state.build(app)
    app.register_blueprint(views.bp)
