"""Absolute URLs for emails: from `[portal] public_url` when set, else from
the request (which carries the public scheme, host and prefix behind a proxy).

In iframe mode with `[embed] landing_url`, a sign-in link opens the WordPress
page that holds the frame, which frames the link's page."""

from __future__ import annotations

from typing import Any

from flask import url_for

from portal.config import current
from portal.hosting.embed import landing_link


def external_url(endpoint: str, **values: Any) -> str:
    config = current()
    path = url_for(endpoint, _external=False, **values).removeprefix(_script_root())
    landing = landing_link(config, path)
    if landing:
        return landing
    public = config.portal.public_url
    if public:
        return public + path
    return url_for(endpoint, _external=True, **values)


def _script_root() -> str:
    from flask import request

    return request.script_root if request else ""
