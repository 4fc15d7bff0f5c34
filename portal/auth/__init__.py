"""The doors a contact comes in by: emailed sign-in links, newsletter links
and the WordPress login; and the session that remembers who came in."""

from __future__ import annotations

from flask import Flask

from portal.auth import session, views, wordpress, wordpress_assertion
from portal.auth.doors import EXTENSION, build


def init_app(app: Flask) -> None:
    session.init_app(app)
    app.extensions[EXTENSION] = build(app)
    app.register_blueprint(views.bp)
    wordpress.init_app(app)
    wordpress_assertion.init_app(app)
