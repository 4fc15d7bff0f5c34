"""Absolute URLs for emails: from `[portal] public_url` when set, else from
the request (which carries the public scheme, host and prefix behind a proxy)."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for


def external_url(endpoint: str, **values: Any) -> str:
    public = current_app.config["PORTAL"].portal.public_url
    if public:
        return public + url_for(endpoint, _external=False, **values).removeprefix(
            _script_root())
    return url_for(endpoint, _external=True, **values)


def _script_root() -> str:
    from flask import request

    return request.script_root if request else ""
