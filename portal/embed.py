"""Iframe mode: which WordPress origins may frame the portal, the cookies that
keep working inside that frame, and where emailed links land.

```toml
[embed]
frame_ancestors = ["https://www.example.org"]    # origins allowed to frame the portal
landing_url = "https://www.example.org/preferencias/"  # the page holding the frame
post_height = true                                # tell the parent page our height
```

Without `frame_ancestors` the portal forbids framing altogether."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask

from portal.settings import Config, register_section

ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
# The only portal pages an emailed link may ask the host page to frame.
LANDING_PATH = re.compile(r"^/(link|n)/[A-Za-z0-9._-]+$")
LANDING_PARAM = "portal_path"


@dataclass(frozen=True)
class EmbedSettings:
    frame_ancestors: tuple[str, ...] = ()
    landing_url: str = ""
    post_height: bool = True

    @property
    def framed(self) -> bool:
        return bool(self.frame_ancestors)


def settings(config: Config) -> EmbedSettings:
    section = config.section("embed")
    return EmbedSettings(
        frame_ancestors=tuple(o.rstrip("/") for o in section.get("frame_ancestors", [])),
        landing_url=section.get("landing_url", ""),
        post_height=section.get("post_height", True),
    )


def check_section(section: Mapping[str, Any], report: Callable[[str, str], None]) -> None:
    origins = section.get("frame_ancestors", [])
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        report("frame_ancestors", 'must be a list of origins like ["https://www.example.org"]')
    else:
        for origin in origins:
            if not ORIGIN.match(origin.rstrip("/")):
                report("frame_ancestors", f'"{origin}" is not an origin (scheme://host[:port], '
                       "no path)")
    landing = section.get("landing_url", "")
    if not isinstance(landing, str) or (landing and urlsplit(landing).scheme not in ("http", "https")):
        report("landing_url", "must be an http(s) URL of the page that holds the frame")
    elif landing and not origins:
        report("landing_url", "needs frame_ancestors: the page that holds the frame must be "
               "allowed to frame the portal")
    if not isinstance(section.get("post_height", True), bool):
        report("post_height", "must be true or false")


register_section("embed", check_section, ("frame_ancestors", "landing_url", "post_height"))


def frame_ancestors(config: Config) -> list[str]:
    """The CSP frame-ancestors sources: the configured origins, or 'none'."""
    return list(settings(config).frame_ancestors) or ["'none'"]


def init_app(app: Flask) -> None:
    embed = settings(app.config["PORTAL"])
    app.jinja_env.globals["embed"] = embed
    if embed.framed:
        # Inside a frame on another site the cookie is third-party: browsers only
        # send it when SameSite=None (which needs Secure), and Partitioned (CHIPS)
        # keeps it working where third-party cookies are blocked.
        app.config.update(SESSION_COOKIE_SAMESITE="None", SESSION_COOKIE_SECURE=True,
                          SESSION_COOKIE_PARTITIONED=True)


def landing_link(config: Config, portal_path: str) -> str | None:
    """The host page's URL that frames `portal_path`, when emailed links should land there."""
    embed = settings(config)
    if not embed.landing_url or not LANDING_PATH.match(portal_path):
        return None
    joiner = "&" if urlsplit(embed.landing_url).query else "?"
    return embed.landing_url + joiner + urlencode({LANDING_PARAM: portal_path}, safe="/")
