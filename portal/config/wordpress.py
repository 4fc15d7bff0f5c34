"""`[wordpress]`: the WordPress doors: the OAuth2 / OpenID Connect login
(portal.auth.wordpress) and the assertions the portal's WordPress plugin
signs for members already logged in (portal.auth.wordpress_assertion).

```toml
[wordpress]
kind = "oidc"
site_name = "Demo Elkartea"        # the button says "Sign in with Demo Elkartea"
client_id = "preference-portal"    # the secret: PORTAL_WORDPRESS_CLIENT_SECRET
discovery_url = "https://www.example.org/.well-known/openid-configuration"
scopes = ["openid", "profile"]
create_contacts = false            # a member with no CRM contact gets one

assertion = true                   # accept assertions from the WordPress plugin
site_url = "https://www.example.org"   # WordPress's home_url(): the assertions' issuer
assertion_roles = ["subscriber"]   # WordPress roles that may use it
```

With `assertion = true` and no `kind`, only the assertion door opens. Its
shared secret comes from the environment only:
PORTAL_WORDPRESS_ASSERTION_SECRET (32 characters or more)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portal.config.section import Report, Section
from portal.config.urls import url_problem

KINDS = ("oidc", "oauth2")
ASSERTION_SECRET_ENV = "PORTAL_WORDPRESS_ASSERTION_SECRET"  # noqa: S105 (a variable name)
MIN_SECRET_LENGTH = 32
DEFAULT_ROLES = ("subscriber",)


@dataclass(frozen=True)
class AssertionSettings:
    site_url: str
    roles: tuple[str, ...]

    @property
    def secret(self) -> str:
        """The shared secret, or "" when it is missing or too short to be safe."""
        value = os.environ.get(ASSERTION_SECRET_ENV, "")
        return value if len(value) >= MIN_SECRET_LENGTH else ""


@dataclass(frozen=True)
class WordPressSettings:
    kind: str  # "oidc", "oauth2", or "" for the assertion door alone
    site_name: str
    client_id: str
    scopes: tuple[str, ...]
    discovery_url: str = ""
    authorize_url: str = ""
    token_url: str = ""
    userinfo_url: str = ""
    pkce: bool | None = None  # None: decide from the provider
    create_contacts: bool = False
    timeout: float = 10.0
    assertion: AssertionSettings | None = None

    @property
    def oauth(self) -> bool:
        """Whether the OAuth2 / OpenID Connect login is configured."""
        return bool(self.kind)


def build(section: Mapping[str, Any]) -> WordPressSettings:
    kind = "" if assertion_only(section) else section.get("kind", "oidc")
    scopes = ("openid", "profile") if kind == "oidc" else ("basic",)
    return WordPressSettings(
        kind=kind,
        site_name=section.get("site_name", ""),  # "" means the portal's name
        client_id=section.get("client_id", ""),
        scopes=tuple(section.get("scopes", scopes)),
        discovery_url=section.get("discovery_url", ""),
        authorize_url=section.get("authorize_url", ""),
        token_url=section.get("token_url", ""),
        userinfo_url=section.get("userinfo_url", ""),
        pkce=section.get("pkce"),
        create_contacts=section.get("create_contacts", False),
        timeout=float(section.get("timeout", 10)),
        assertion=AssertionSettings(str(section.get("site_url", "")).rstrip("/"),
                                    tuple(section.get("assertion_roles", DEFAULT_ROLES)))
        if section.get("assertion") is True else None,
    )


def assertion_only(section: Mapping[str, Any]) -> bool:
    """A section for the assertion door alone: no OAuth client to configure."""
    return section.get("assertion") is True and "kind" not in section


def check(section: Mapping[str, Any], report: Report) -> None:
    _check_assertion(section, report)
    if assertion_only(section):
        return
    kind = section.get("kind", "oidc")
    if kind not in KINDS:
        report("kind", 'must be "oidc" (OpenID Connect Server) or "oauth2" (WP OAuth Server)')
        return
    if not isinstance(section.get("client_id"), str) or not section.get("client_id"):
        report("client_id", "is required (the client id registered in WordPress)")
    needed = ("discovery_url",) if kind == "oidc" else ("authorize_url", "token_url", "userinfo_url")
    for key in needed:
        problem = url_problem(section.get(key), https=True)
        if problem:
            report(key, f'is required for kind = "{kind}" and {problem}')
    _check_scopes(kind, section.get("scopes", []), report)
    _check_options(section, report)


def _check_assertion(section: Mapping[str, Any], report: Report) -> None:
    if "assertion" in section and not isinstance(section["assertion"], bool):
        report("assertion", "must be true or false")
    if section.get("assertion") is not True:
        for key in ("site_url", "assertion_roles"):
            if key in section:
                report(key, "is used only with assertion = true")
        return
    problem = url_problem(section.get("site_url"), https=True)
    if problem:
        report("site_url", f"is required with assertion = true: the WordPress site's address "
               f'(its home_url(), like "https://www.example.org"); it {problem}')
    roles = section.get("assertion_roles", list(DEFAULT_ROLES))
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) and r for r in roles):
        report("assertion_roles", 'must be a list of WordPress roles like ["subscriber"]')


def _check_scopes(kind: str, scopes: Any, report: Report) -> None:
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        report("scopes", 'must be a list like ["openid", "profile"]')
    elif kind == "oidc" and scopes and "openid" not in scopes:
        report("scopes", 'must include "openid" for OpenID Connect')


def _check_options(section: Mapping[str, Any], report: Report) -> None:
    for key in ("pkce", "create_contacts"):
        if key in section and not isinstance(section[key], bool):
            report(key, "must be true or false")
    timeout = section.get("timeout", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        report("timeout", "must be a number of seconds above 0")


SECTION = Section("wordpress", frozenset({
    "kind", "site_name", "client_id", "scopes", "discovery_url", "authorize_url", "token_url",
    "userinfo_url", "pkce", "create_contacts", "timeout", "assertion", "site_url",
    "assertion_roles"}), check, build)
