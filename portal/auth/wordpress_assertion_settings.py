"""The settings of the WordPress assertion door, keys of the `[wordpress]` section.

```toml
[wordpress]
assertion = true                          # accept assertions from the WordPress plugin
site_url = "https://www.example.org"      # WordPress's home_url(): the assertions' issuer
assertion_roles = ["subscriber"]          # WordPress roles that may use it
```

The shared secret comes from the environment only:
PORTAL_WORDPRESS_ASSERTION_SECRET (32 characters or more). Kept apart from the
door itself so that the `[wordpress]` section's checker can use it without
importing the door.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

SECRET_ENV = "PORTAL_WORDPRESS_ASSERTION_SECRET"  # noqa: S105 (a variable name, not a secret)
MIN_SECRET_LENGTH = 32
ASSERTION_KEYS = ("assertion", "site_url", "assertion_roles")
DEFAULT_ROLES = ("subscriber",)


@dataclass(frozen=True)
class AssertionSettings:
    site_url: str
    roles: tuple[str, ...]

    @property
    def secret(self) -> str:
        """The shared secret, or "" when it is missing or too short to be safe."""
        value = os.environ.get(SECRET_ENV, "")
        return value if len(value) >= MIN_SECRET_LENGTH else ""


def assertion_settings(section: Mapping[str, Any]) -> AssertionSettings | None:
    """The door's settings, or None when `assertion = true` is not set."""
    if section.get("assertion") is not True:
        return None
    return AssertionSettings(site_url=str(section.get("site_url", "")).rstrip("/"),
                             roles=tuple(section.get("assertion_roles", DEFAULT_ROLES)))


def assertion_only(section: Mapping[str, Any]) -> bool:
    """A section for the assertion door alone: no OAuth client to configure."""
    return section.get("assertion") is True and "kind" not in section


def check_assertion_keys(section: Mapping[str, Any], report: Callable[[str, str], None]) -> None:
    if "assertion" in section and not isinstance(section["assertion"], bool):
        report("assertion", "must be true or false")
    if section.get("assertion") is not True:
        for key in ("site_url", "assertion_roles"):
            if key in section:
                report(key, "is used only with assertion = true")
        return
    site = section.get("site_url")
    if not isinstance(site, str) or urlsplit(site).scheme not in ("http", "https") \
            or not urlsplit(site).netloc:
        report("site_url", "is required with assertion = true: the WordPress site's address "
               '(its home_url(), like "https://www.example.org")')
    roles = section.get("assertion_roles", list(DEFAULT_ROLES))
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) and r for r in roles):
        report("assertion_roles", 'must be a list of WordPress roles like ["subscriber"]')
