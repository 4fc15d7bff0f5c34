"""Behind a reverse proxy, e.g. https://www.example.org/preferencias/.

The settings are `[proxy]` (portal.config.proxy).

The proxy sends X-Forwarded-For, -Proto, -Host, -Port and -Prefix; werkzeug's
ProxyFix turns them into the request's scheme, host and script root, so every
url_for (links, redirects, form actions, assets, email links) carries them.
Only the configured number of hops is believed: a client cannot forge them."""

from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix


class PrefixedSessionCookie(SecureCookieSessionInterface):
    """The session cookie is scoped to our prefix, not to the whole WordPress site."""

    def get_cookie_path(self, app: Flask) -> str:
        return app.config["SESSION_COOKIE_PATH"] or (request.script_root + "/" if request else "/")


def init_app(app: Flask) -> None:
    proxy = app.config["PORTAL"].proxy
    if not proxy.enabled:
        return
    hops = proxy.trusted_hops
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops,  # type: ignore[method-assign]
                                x_host=hops, x_port=hops, x_prefix=hops)
    app.session_interface = PrefixedSessionCookie()
