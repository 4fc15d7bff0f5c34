"""Contact preference portal: `create_app()` builds the Flask application."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

__version__ = "0.1.0"

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config" / "demo.toml"


def create_app(config_path: str | os.PathLike[str] | None = None,
               overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the TOML file named by `config_path`, else the
    PORTAL_CONFIG environment variable, else the demo configuration.

    Refuses to start (raises ConfigError) on an invalid configuration."""
    from portal import cli, db, embed, i18n, proxy, security, services, theme
    from portal.auth import session, wordpress
    from portal.auth.views import bp as auth_bp
    from portal.profile.views import bp as profile_bp
    from portal.settings import load_config

    instance = os.environ.get("PORTAL_INSTANCE")
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(Path(instance).resolve()) if instance else str(ROOT / "instance"),
        instance_relative_config=True,
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    path = Path(config_path or os.environ.get("PORTAL_CONFIG") or DEFAULT_CONFIG)
    config = load_config(path)
    app.config.update(
        PORTAL=config,
        SECRET_KEY=security.secret_key(config, Path(app.instance_path)),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("PORTAL_INSECURE_COOKIES") != "1" and not config.portal.demo,
        WTF_CSRF_TIME_LIMIT=None,  # the session's idle timeout already bounds it
        MAX_CONTENT_LENGTH=256 * 1024,
    )
    if overrides:
        app.config.update(overrides)
    i18n.init_app(app)
    security.init_app(app)
    db.init_app(app)
    embed.init_app(app)
    theme.init_app(app)
    proxy.init_app(app)
    session.init_app(app)
    wordpress.init_app(app)
    services.init_app(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(profile_bp)
    cli.init_app(app)
    return app
