"""Living under WordPress: security headers and CSRF, iframe embedding, the
host site's theme, the reverse proxy, and the absolute URLs emails carry."""

from __future__ import annotations

from flask import Flask

from portal.hosting import embed, logs, proxy, security, theme


def init_app(app: Flask) -> None:
    logs.init_app()
    security.init_app(app)
    embed.init_app(app)
    theme.init_app(app)
    proxy.init_app(app)
