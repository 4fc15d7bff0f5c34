"""The host site's look: CSS custom properties, a logo and an extra stylesheet.

```toml
[theme]
logo = "https://www.example.org/wp-content/uploads/logo.svg"   # or a file under static/
logo_alt = "Example Association"          # default: the portal's name
stylesheet = "https://www.example.org/wp-content/themes/mytheme/style.css"

[theme.properties]                        # each becomes --portal-<name> in /theme.css
accent = "#8a1538"
font = '"Source Sans 3", system-ui, sans-serif'
radius = "4px"
```

The properties are served as a stylesheet of their own (`/theme.css`), never
as inline styles, so the Content-Security-Policy can keep `style-src` strict."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, url_for

from portal.settings import Config, register_section

# The properties static/css/portal.css reads.
PROPERTIES = ("font", "text", "muted", "background", "surface", "border", "accent", "accent-text",
              "error", "success", "focus", "radius", "space", "max-width")
# A value may not close the declaration, open a block or fetch anything.
SAFE_VALUE = re.compile(r"^[^;{}<>\\]{1,200}$")

bp = Blueprint("theme", __name__)


@dataclass(frozen=True)
class Theme:
    properties: Mapping[str, str] = field(default_factory=dict)
    logo: str = ""
    logo_alt: str = ""
    stylesheet: str = ""

    def logo_url(self) -> str:
        return asset_url(self.logo)


def asset_url(path: str) -> str:
    """A configured image: a full URL or a site path as it is, anything else
    a file in the portal's static folder."""
    if not path or _is_remote(path) or path.startswith("/"):
        return path
    return url_for("static", filename=path)


def _is_remote(url: str) -> bool:
    return url.startswith(("https://", "http://"))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def theme(config: Config) -> Theme:
    section = config.section("theme")
    return Theme(
        properties=dict(section.get("properties", {})),
        logo=section.get("logo", ""),
        logo_alt=section.get("logo_alt", ""),
        stylesheet=section.get("stylesheet", ""),
    )


def check_section(section: Mapping[str, Any], report: Callable[[str, str], None]) -> None:
    for key in ("logo", "logo_alt", "stylesheet"):
        if not isinstance(section.get(key, ""), str):
            report(key, "must be a text")
    stylesheet = section.get("stylesheet", "")
    if isinstance(stylesheet, str) and stylesheet and not _is_remote(stylesheet):
        report("stylesheet", "must be an http(s) URL")
    properties = section.get("properties", {})
    if not isinstance(properties, dict):
        report("properties", "must be a table of CSS values")
        return
    for name, value in properties.items():
        if name not in PROPERTIES:
            report(f"properties.{name}", f"is not a theme property (use {', '.join(PROPERTIES)})")
        elif not isinstance(value, str) or not SAFE_VALUE.match(value) or "url(" in value.lower():
            report(f"properties.{name}", "must be a plain CSS value without ; { } < > \\ or url()")


register_section("theme", check_section, ("properties", "logo", "logo_alt", "stylesheet"))


def csp_sources(config: Config) -> dict[str, list[str]]:
    """Origins the theme loads from, per CSP directive."""
    look = theme(config)
    sources: dict[str, list[str]] = {}
    if look.stylesheet:
        origin = _origin(look.stylesheet)
        # A WordPress theme's stylesheet brings its fonts and images from its own host.
        for directive in ("style-src", "font-src", "img-src"):
            sources.setdefault(directive, []).append(origin)
    if _is_remote(look.logo):
        sources.setdefault("img-src", []).append(_origin(look.logo))
    return sources


def stylesheet_text(look: Theme) -> str:
    lines = [f"  --portal-{name}: {value};" for name, value in look.properties.items()]
    return ":root {\n" + "\n".join(lines) + "\n}\n"


@bp.get("/theme.css")
def theme_css() -> Response:
    response = Response(stylesheet_text(theme(current_app.config["PORTAL"])), mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["theme"] = theme(app.config["PORTAL"])
    app.jinja_env.globals["asset_url"] = asset_url
