"""Iframe mode: which WordPress origins may frame the portal, the cookies that
keep working inside that frame, and where emailed links land. The settings
are `[embed]` (portal.config.embed)."""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

from flask import Flask

from portal.config import Config

# The only portal pages an emailed link may ask the host page to frame.
LANDING_PATH = re.compile(r"^/(link|n)/[A-Za-z0-9._-]+$")
LANDING_PARAM = "portal_path"


def frame_ancestors(config: Config) -> list[str]:
    """The CSP frame-ancestors sources: the configured origins, or 'none'."""
    return list(config.embed.frame_ancestors) or ["'none'"]


def init_app(app: Flask) -> None:
    embed = app.config["PORTAL"].embed
    app.jinja_env.globals["embed"] = embed
    if embed.framed:
        # Inside a frame on another site the cookie is third-party: browsers only
        # send it when SameSite=None (which needs Secure), and Partitioned (CHIPS)
        # keeps it working where third-party cookies are blocked.
        app.config.update(SESSION_COOKIE_SAMESITE="None", SESSION_COOKIE_SECURE=True,
                          SESSION_COOKIE_PARTITIONED=True)


def landing_link(config: Config, portal_path: str) -> str | None:
    """The host page's URL that frames `portal_path`, when emailed links should land there."""
    embed = config.embed
    if not embed.landing_url or not LANDING_PATH.match(portal_path):
        return None
    joiner = "&" if urlsplit(embed.landing_url).query else "?"
    return embed.landing_url + joiner + urlencode({LANDING_PARAM: portal_path}, safe="/")
