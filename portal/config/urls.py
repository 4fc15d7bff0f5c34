"""One check for every URL in the configuration: an http(s) address with a
real host name, nothing that could close a header value or a CSP directive
(spaces, quotes, `;`, `,`), no user name or password in it."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST = re.compile(rf"^(?=.{{1,253}}$){LABEL}(\.{LABEL})*\.?$")
UNSAFE = re.compile(r"[\s\"'<>;,\\`{}|^]")
LOOPBACK_NAMES = frozenset({"localhost"})


def url_problem(value: object, *, https: bool = False, path_only: bool = False) -> str:
    """What is wrong with `value` as a URL, or "" when it is fine. `https`:
    http only on loopback; `path_only`: no query and no fragment either."""
    if not isinstance(value, str) or not value:
        return "must be an http(s) URL"
    if UNSAFE.search(value):
        return "must not contain spaces, quotes or any of ; , < > \\ { } | ^ `"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL with a host name"
    if parts.username or parts.password:
        return "must not carry a user name or password (secrets come from the environment)"
    if not _valid_host(parts.hostname) or port == 0:
        return f'has no valid host name ("{parts.hostname}")'
    if https and parts.scheme != "https" and not is_loopback(parts.hostname):
        return "must be https (http is only for this machine: localhost, 127.0.0.1)"
    if path_only and (parts.query or parts.fragment):
        return "must not have a query (?...) or a fragment (#...)"
    return ""


def is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return bool(HOST.match(host))
