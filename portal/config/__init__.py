"""The configuration: the model (portal.config.model), the loader and its
checks (loader, core, layout), and one module per optional section."""

from __future__ import annotations

from flask import current_app

from portal.config.loader import ConfigError, load_config
from portal.config.model import (
    LANGUAGES,
    Choice,
    Config,
    FieldSpec,
    Followup,
    GroupSpec,
    ItemSpec,
    Labels,
    LanguagePreference,
    MailSettings,
    PortalSettings,
)

__all__ = [
    "LANGUAGES", "Choice", "Config", "ConfigError", "FieldSpec", "Followup", "GroupSpec",
    "ItemSpec", "Labels", "LanguagePreference", "MailSettings", "PortalSettings", "current",
    "load_config",
]


def current() -> Config:
    """The running app's configuration."""
    config: Config = current_app.config["PORTAL"]
    return config
