"""The configuration: the model (portal.config.model), the loader and its
checks (loader, core, layout), and one module per optional section."""

from __future__ import annotations

from collections.abc import Callable

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
    PageTexts,
    PortalSettings,
)

__all__ = [
    "LANGUAGES", "Choice", "Config", "ConfigError", "FieldSpec", "Followup", "GroupSpec",
    "ItemSpec", "Labels", "LanguagePreference", "MailSettings", "PageTexts", "PortalSettings",
    "current",
    "load_config",
]


# app.extensions key of the function that gives the configuration with the
# layout marketing published (the staff part registers it).
PUBLISHED = "portal.published_layout"


def current() -> Config:
    """The running app's configuration, with the published layout (fields,
    groups, page texts) where the workspace has one; infrastructure comes from
    the file and the environment."""
    published: Callable[[], Config] | None = current_app.extensions.get(PUBLISHED)
    if published is not None:
        return published()
    config: Config = current_app.config["PORTAL"]
    return config
