"""`[wordpress]`: the WordPress login (see portal.auth.wordpress).

```toml
[wordpress]
kind = "oidc"
site_name = "Demo Elkartea"        # the button says "Sign in with Demo Elkartea"
client_id = "preference-portal"    # the secret: PORTAL_WORDPRESS_CLIENT_SECRET
discovery_url = "https://www.example.org/.well-known/openid-configuration"
scopes = ["openid", "profile"]
create_contacts = false            # a member with no CRM contact gets one
```"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portal.config.section import Report, Section
from portal.config.urls import url_problem

KINDS = ("oidc", "oauth2")


@dataclass(frozen=True)
class WordPressSettings:
    kind: str
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


def build(section: Mapping[str, Any]) -> WordPressSettings:
    kind = section.get("kind", "oidc")
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
    )


def check(section: Mapping[str, Any], report: Report) -> None:
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
    "userinfo_url", "pkce", "create_contacts", "timeout"}), check, build)
