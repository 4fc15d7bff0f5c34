"""Absolute URLs for emails and other sites: built from `[portal]
public_url`, never from a request's Host or X-Forwarded-* headers. The demo
without one uses the address it serves on, which is this machine's own
(TRUSTED_HOSTS refuses any other Host).

In iframe mode with `[embed] landing_url`, a sign-in link opens the WordPress
page that holds the frame, which frames the link's page."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request, url_for

from portal.config import current
from portal.hosting.embed import landing_link

DEMO_ADDRESS = "http://127.0.0.1:5000"  # what `make run` serves, for commands without a request


def external_url(endpoint: str, **values: Any) -> str:
    config = current()
    path = url_for(endpoint, _external=False, **values)
    if has_request_context():
        path = path.removeprefix(request.script_root)
    return landing_link(config, path) or public_root() + path


def public_root() -> str:
    """The portal's public address, without a trailing slash."""
    config = current()
    if config.portal.public_url:
        return config.portal.public_url
    if has_request_context():  # the demo, on this machine's own address
        return request.host_url.rstrip("/") + request.script_root
    return DEMO_ADDRESS
