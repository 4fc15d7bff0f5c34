"""The signing key, CSRF protection and response headers."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, Response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect

from portal import embed, theme
from portal.settings import Config

csrf = CSRFProtect()
SECRET_ENV = "PORTAL_SECRET_KEY"  # noqa: S105 - the variable's name, not a secret


class MissingSecretKey(RuntimeError):
    pass


def secret_key(config: Config, instance: Path) -> str:
    """The key that signs sessions and links: from the environment, or in the
    demo a random one kept in the instance folder so links survive restarts."""
    key = os.environ.get(SECRET_ENV, "")
    if key:
        if len(key) < 32:
            raise MissingSecretKey(f"{SECRET_ENV} must be at least 32 characters long.")
        return key
    if not config.portal.demo:
        raise MissingSecretKey(
            f"Set {SECRET_ENV} to a long random value (for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`). "
            "Only the demo configuration makes its own key."
        )
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def content_security_policy(config: Config) -> str:
    """The policy: only our own origin, plus the theme's hosts and the framing origins."""
    sources: dict[str, list[str]] = {
        "default-src": ["'self'"], "img-src": ["'self'", "data:"], "style-src": ["'self'"],
        "font-src": ["'self'"], "script-src": ["'self'"], "form-action": ["'self'"],
        "base-uri": ["'none'"], "frame-ancestors": embed.frame_ancestors(config),
    }
    for directive, extra in theme.csp_sources(config).items():
        sources[directive] += [origin for origin in extra if origin not in sources[directive]]
    return "; ".join(f"{directive} {' '.join(values)}" for directive, values in sources.items())


def init_app(app: Flask) -> None:
    csrf.init_app(app)

    @app.errorhandler(CSRFError)
    def form_not_checked(error: CSRFError) -> tuple[str, int]:
        # An expired or missing token, or a browser that hid the Referer on https.
        return render_template(
            "errors/error.html", title=_("This form could not be sent"),
            message=_("The form expired or could not be checked. Go back, reload the page and "
                      "send it again. Nothing was changed.")), 400

    policy = content_security_policy(app.config["PORTAL"])
    # X-Frame-Options cannot name allowed origins: send it only where no one may frame us.
    framed = embed.settings(app.config["PORTAL"]).framed

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Links carry sign-in tokens: never leak them to other sites. Same-origin
        # (not no-referrer) because on https Flask-WTF checks that a form's
        # Referer is the portal itself.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not framed:
            response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", policy)
        if request.endpoint and request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
