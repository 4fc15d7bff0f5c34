"""`[theme]`: the host site's look.

```toml
[theme]
logo = "https://www.example.org/wp-content/uploads/logo.svg"   # or a file under static/
logo_alt = "Example Association"          # default: the portal's name
stylesheet = "https://www.example.org/wp-content/themes/mytheme/style.css"

[theme.properties]                        # each becomes --portal-<name> in /theme.css
accent = "#8a1538"
font = '"Source Sans 3", system-ui, sans-serif'
radius = "4px"
```"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from portal.config.section import Report, Section
from portal.config.urls import url_problem

# The properties static/css/portal.css reads.
PROPERTIES = ("font", "text", "muted", "background", "surface", "border", "accent", "accent-text",
              "error", "success", "focus", "radius", "space", "max-width")
# A value may not close the declaration, open a block or fetch anything.
SAFE_VALUE = re.compile(r"^[^;{}<>\\]{1,200}$")


@dataclass(frozen=True)
class ThemeSettings:
    properties: Mapping[str, str] = field(default_factory=dict)
    logo: str = ""
    logo_alt: str = ""
    stylesheet: str = ""


def build(section: Mapping[str, Any]) -> ThemeSettings:
    return ThemeSettings(
        properties=dict(section.get("properties", {})),
        logo=section.get("logo", ""),
        logo_alt=section.get("logo_alt", ""),
        stylesheet=section.get("stylesheet", ""),
    )


def is_remote(url: str) -> bool:
    return url.startswith(("https://", "http://"))


def check(section: Mapping[str, Any], report: Report) -> None:
    for key in ("logo", "logo_alt", "stylesheet"):
        if not isinstance(section.get(key, ""), str):
            report(key, "must be a text")
    # Their origins go into the Content-Security-Policy: a URL must be one, whole.
    stylesheet, logo = section.get("stylesheet", ""), section.get("logo", "")
    if stylesheet and url_problem(stylesheet):
        report("stylesheet", url_problem(stylesheet))
    if isinstance(logo, str) and is_remote(logo) and url_problem(logo):
        report("logo", url_problem(logo))
    properties = section.get("properties", {})
    if not isinstance(properties, dict):
        report("properties", "must be a table of CSS values")
        return
    for name, value in properties.items():
        if name not in PROPERTIES:
            report(f"properties.{name}", f"is not a theme property (use {', '.join(PROPERTIES)})")
        elif not isinstance(value, str) or not SAFE_VALUE.match(value) or "url(" in value.lower():
            report(f"properties.{name}", "must be a plain CSS value without ; { } < > \\ or url()")


SECTION = Section("theme", frozenset({"properties", "logo", "logo_alt", "stylesheet"}), check, build)
