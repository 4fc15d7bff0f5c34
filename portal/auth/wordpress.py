"""The WordPress login: members already signed in to the WordPress site reach
their preferences without another sign-in (authlib, authorization code flow).

Two kinds of WordPress identity provider:

- ``kind = "oidc"``: OpenID Connect, found by its discovery document (the
  "OpenID Connect Server" plugin). The ID token is checked (signature, issuer,
  audience, expiry, nonce); the email comes from it or from the userinfo endpoint.
- ``kind = "oauth2"``: plain OAuth2 with a user-info endpoint (the "WP OAuth
  Server" plugin: /oauth/authorize, /oauth/token, /oauth/me).

```toml
[wordpress]
kind = "oidc"
site_name = "Demo Elkartea"        # the button says "Sign in with Demo Elkartea"
client_id = "preference-portal"    # the secret: PORTAL_WORDPRESS_CLIENT_SECRET
discovery_url = "https://www.example.org/.well-known/openid-configuration"
scopes = ["openid", "profile"]
create_contacts = false            # a member with no CRM contact gets one
```

State and nonce are always used; PKCE (S256) where the provider says it
supports it (oidc discovery), always for oauth2, or as `pkce = true/false` says.

The same section configures the plugin's assertion door (wordpress_assertion.py);
with `assertion = true` and no `kind`, no OAuth client is set up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, abort, current_app, redirect, render_template, session, url_for
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from portal.auth.session import FULL, sign_in
from portal.auth.wordpress_assertion_settings import ASSERTION_KEYS, assertion_only, check_assertion_keys
from portal.crm.base import CrmError
from portal.embed import settings as embed_settings
from portal.services import portal
from portal.settings import register_section

log = logging.getLogger(__name__)
bp = Blueprint("wordpress", __name__, url_prefix="/wordpress")
SECRET_ENV = "PORTAL_WORDPRESS_CLIENT_SECRET"  # noqa: S105 (a variable name, not a secret)
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


def settings_from(section: Mapping[str, Any], default_name: str) -> WordPressSettings:
    kind = section.get("kind", "oidc")
    scopes = ("openid", "profile") if kind == "oidc" else ("basic",)
    return WordPressSettings(
        kind=kind,
        site_name=section.get("site_name", default_name),
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


def check_section(section: Mapping[str, Any], report: Callable[[str, str], None]) -> None:
    check_assertion_keys(section, report)
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
        value = section.get(key)
        if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https"):
            report(key, f'is required for kind = "{kind}" and must be an http(s) URL')
    scopes = section.get("scopes", [])
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        report("scopes", 'must be a list like ["openid", "profile"]')
    elif kind == "oidc" and scopes and "openid" not in scopes:
        report("scopes", 'must include "openid" for OpenID Connect')
    for key in ("pkce", "create_contacts"):
        if key in section and not isinstance(section[key], bool):
            report(key, "must be true or false")
    timeout = section.get("timeout", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        report("timeout", "must be a number of seconds above 0")


register_section("wordpress", check_section, (
    "kind", "site_name", "client_id", "scopes", "discovery_url", "authorize_url", "token_url",
    "userinfo_url", "pkce", "create_contacts", "timeout", *ASSERTION_KEYS))


def init_app(app: Flask) -> None:
    """Register the login when [wordpress] is configured."""
    config = app.config["PORTAL"]
    section = config.section("wordpress")
    wp = settings_from(section, config.portal.name) if section else None
    app.extensions["portal_wordpress"] = wp
    oauth_door = wp is not None and not assertion_only(section)
    app.jinja_env.globals["wordpress_login"] = wp if oauth_door else None
    app.register_blueprint(bp)
    if wp is None or not oauth_door:
        return
    oauth = OAuth(app)
    client_kwargs: dict[str, Any] = {"scope": " ".join(wp.scopes), "default_timeout": wp.timeout}
    if wp.pkce or (wp.pkce is None and wp.kind == "oauth2"):
        client_kwargs["code_challenge_method"] = "S256"
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        log.warning("%s is not set: the WordPress login works only for a public client "
                    "(PKCE without a secret).", SECRET_ENV)
    options: dict[str, Any] = {"client_id": wp.client_id, "client_secret": secret,
                               "client_kwargs": client_kwargs}
    if wp.kind == "oidc":
        options["server_metadata_url"] = wp.discovery_url
    else:
        options.update(authorize_url=wp.authorize_url, access_token_url=wp.token_url)
    oauth.register("wordpress", **options)
    app.extensions["portal_wordpress_client"] = oauth.wordpress  # type: ignore[attr-defined]


def _settings() -> WordPressSettings:
    wp = current_app.extensions.get("portal_wordpress")
    if wp is None:
        abort(404)
    return wp


def _client() -> Any:
    client = current_app.extensions.get("portal_wordpress_client")
    if client is None:  # only the assertion door is configured
        abort(404)
    return client


# Each way the login can fail, and the status its page answers with.
PROBLEMS = {"denied": 403, "state": 400, "expired": 400, "refused": 400, "unreachable": 503,
            "no_email": 403, "unverified": 403, "no_contact": 404}


def problem(reason: str, email: str = "") -> Response:
    """Show what went wrong on a page of its own, so that switching the
    language there does not replay the callback."""
    session["wordpress_problem"] = {"reason": reason, "email": email}
    return redirect(url_for("wordpress.problem_page"))


@bp.get("/problem")
def problem_page() -> tuple[str, int]:
    wp = _settings()
    shown = session.get("wordpress_problem") or {"reason": "state", "email": ""}
    reason = shown["reason"] if shown.get("reason") in PROBLEMS else "state"
    template = "auth/wordpress_no_contact.html" if reason == "no_contact" else \
        "auth/wordpress_problem.html"
    return render_template(template, reason=reason, email=shown.get("email", ""),
                           site=wp.site_name), PROBLEMS[reason]


@bp.get("/login")
def login() -> Response:
    wp = _settings()
    client = _client()
    try:
        if wp.kind == "oidc":
            metadata = client.load_server_metadata()
            if wp.pkce is None and "S256" in metadata.get("code_challenge_methods_supported", []):
                client.client_kwargs["code_challenge_method"] = "S256"
        return client.authorize_redirect(_callback_url())
    except (requests.RequestException, ValueError) as exc:
        log.warning("WordPress login could not start: %s", exc)
        return problem("unreachable")


def _callback_url() -> str:
    return url_for("wordpress.callback", _external=True)


@bp.get("/callback")
def callback() -> Response | tuple[str, int]:
    wp = _settings()
    client = _client()
    try:
        token = client.authorize_access_token()
        claims = dict(token.get("userinfo") or {})
        if not claims.get("email"):
            claims.update(_user_info(wp, client, token, claims.get("sub")))
    except MismatchingStateError:
        return problem("state")
    except OAuthError as exc:
        if exc.error == "access_denied":
            return problem("denied")
        log.info("WordPress login refused: %s %s", exc.error, exc.description)
        return problem("expired" if exc.error == "invalid_grant" else "refused")
    except requests.RequestException as exc:
        log.warning("WordPress could not be reached during login: %s", exc)
        return problem("unreachable")
    except (AuthlibBaseError, JoseError, ValueError) as exc:  # a bad ID token or answer
        log.warning("WordPress login answer rejected: %s", exc)
        return problem("refused")
    email = str(claims.get("email") or claims.get("user_email") or "").strip()
    if not email:
        return problem("no_email")
    if claims.get("email_verified") is False:
        return problem("unverified")
    return sign_in_member(wp, email, _name_of(claims))


def _user_info(wp: WordPressSettings, client: Any, token: Mapping[str, Any],
               subject: Any) -> dict[str, Any]:
    if wp.kind == "oidc":
        info = dict(client.userinfo(token=token))
        if subject and info.get("sub") not in (None, subject):
            raise ValueError("the userinfo answer is about another user")
        return info
    answer = client.get(wp.userinfo_url, token=dict(token))
    answer.raise_for_status()
    return dict(answer.json())


def _name_of(claims: Mapping[str, Any]) -> str:
    given = " ".join(str(claims.get(k, "")) for k in ("given_name", "family_name")).strip()
    return str(claims.get("name") or claims.get("display_name") or given or "")


def sign_in_member(wp: WordPressSettings, email: str, name: str,
                   then: str = "") -> Response | tuple[str, int]:
    services = portal()
    try:
        contact = services.crm.find_contact(email)
        if contact is None and wp.create_contacts:
            contact = services.crm.create_contact(email, name)
    except CrmError as exc:
        log.warning("CRM look-up failed during WordPress login: %s", exc)
        return render_template("errors/crm_unavailable.html"), 503
    if contact is None:
        return problem("no_contact", email)
    sign_in(contact, FULL, via="wordpress")
    landing = embed_settings(services.config).landing_url
    # Started from the frame on the WordPress page: go back to that page.
    return redirect(then or landing or url_for("profile.show"))
