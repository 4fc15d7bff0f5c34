"""Contact preference portal: `create_app()` builds the Flask application."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from portal.shipped import DEFAULT_CONFIG, SOURCE_TREE, VERSION, folder, in_source_tree

__version__ = VERSION  # the installed distribution's

__all__ = ["DEFAULT_CONFIG", "__version__", "create_app"]


def create_app(config_path: str | os.PathLike[str] | None = None,
               overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the TOML file named by `config_path`, else the
    PORTAL_CONFIG environment variable, else the demo configuration.

    Refuses to start (raises ConfigError) on an invalid configuration."""
    from portal import auth, commands, db, delivery, hosting, i18n, mail, profile, rights, staff
    from portal.commands.demo import seed_on_start
    from portal.config import load_config
    from portal.hosting.security import secret_key

    app = Flask(
        __name__,
        template_folder=str(folder("templates")),
        static_folder=str(folder("static")),
        instance_path=_instance_path(),
        instance_relative_config=True,
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    path = Path(config_path or os.environ.get("PORTAL_CONFIG") or DEFAULT_CONFIG)
    config = load_config(path)
    app.config.update(
        PORTAL=config,
        SECRET_KEY=secret_key(config, Path(app.instance_path)),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("PORTAL_INSECURE_COOKIES") != "1" and not config.portal.demo,
        WTF_CSRF_TIME_LIMIT=None,  # the session's idle timeout already bounds it
        MAX_CONTENT_LENGTH=256 * 1024,
    )
    if overrides:
        app.config.update(overrides)
    i18n.init_app(app)
    hosting.init_app(app)
    db.init_app(app)
    mail.init_app(app)
    delivery.init_app(app)
    auth.init_app(app)
    staff.init_app(app)
    profile.init_app(app)
    rights.init_app(app)
    commands.init_app(app)
    if config.portal.demo:
        seed_on_start(app)
    return app


def _instance_path() -> str | None:
    """PORTAL_INSTANCE, else `instance/` in a source checkout, else Flask's
    default for an installed package (`<prefix>/var/portal-instance`)."""
    instance = os.environ.get("PORTAL_INSTANCE")
    if instance:
        return str(Path(instance).resolve())
    if in_source_tree():
        return str(SOURCE_TREE / "instance")
    return None
