"""The pages a signed-in contact uses, and the pages every visitor may meet
(errors, the favicon)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from portal.profile import leaving, one_click, register, site, views

    app.register_blueprint(views.bp)
    app.register_blueprint(leaving.bp)
    app.register_blueprint(site.bp)
    app.register_blueprint(one_click.bp)
    app.register_blueprint(register.bp)
