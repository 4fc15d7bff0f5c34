"""Where the files the portal ships with live: templates, translations,
static files and the demo configuration.

In a source checkout (and an editable install) they are the project's
top-level folders; a built package carries copies inside `portal/` (see
pyproject.toml), so `pip install .` serves from any folder."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SOURCE_TREE = PACKAGE.parent


def folder(name: str) -> Path:
    """The shipped folder `name` ("templates", "translations", "static", "config")."""
    inside = PACKAGE / "data" / name
    return inside if inside.is_dir() else SOURCE_TREE / name


DEFAULT_CONFIG = folder("config") / "demo.toml"


def in_source_tree() -> bool:
    """Whether the portal runs from a checkout of its sources (not an installed copy)."""
    return (SOURCE_TREE / "pyproject.toml").is_file() and not (PACKAGE / "data").is_dir()


def _installed_version() -> str:
    try:
        return metadata.version("contact-preference-portal")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0"


VERSION = _installed_version()
