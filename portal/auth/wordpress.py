"""The WordPress login: members already signed in to the WordPress site reach
their preferences without another sign-in (authlib, authorization code flow).

Two kinds of WordPress identity provider:

- ``kind = "oidc"``: OpenID Connect, found by its discovery document (the
  "OpenID Connect Server" plugin). The ID token is checked (signature, issuer,
  audience, expiry, nonce); the email comes from it or from the userinfo endpoint.
- ``kind = "oauth2"``: plain OAuth2 with a user-info endpoint (the "WP OAuth
  Server" plugin: /oauth/authorize, /oauth/token, /oauth/me).

The settings are `[wordpress]` (portal.config.wordpress).

State and nonce are always used; PKCE (S256) where the provider says it
supports it (oidc discovery), always for oauth2, or as `pkce = true/false` says.

The same section configures the plugin's assertion door (wordpress_assertion.py);
with `assertion = true` and no `kind`, no OAuth client is set up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from email_validator import EmailNotValidError, validate_email
from flask import Blueprint, Flask, abort, current_app, redirect, render_template, session, url_for
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from portal.auth.session import FULL, sign_in
from portal.config import current
from portal.config.wordpress import WordPressSettings
from portal.crm.base import CrmError
from portal.delivery import delivery
from portal.fields.widgets import visible
from portal.hosting.urls import external_url

log = logging.getLogger(__name__)
bp = Blueprint("wordpress", __name__, url_prefix="/wordpress")
SECRET_ENV = "PORTAL_WORDPRESS_CLIENT_SECRET"  # noqa: S105 (a variable name, not a secret)


def init_app(app: Flask) -> None:
    """Register the login when [wordpress] is configured."""
    wp = app.config["PORTAL"].wordpress
    app.jinja_env.globals["wordpress_login"] = wp if wp is not None and wp.oauth else None
    app.register_blueprint(bp)
    if wp is None or not wp.oauth:
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
    # The stubs leave `register` untyped; it returns the registered client.
    client = oauth.register("wordpress", **options)  # type: ignore[no-untyped-call]
    app.extensions["portal_wordpress_client"] = client


def _settings() -> WordPressSettings:
    wp = current().wordpress
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
            "no_email": 403, "bad_email": 403, "unverified": 403, "no_contact": 404}


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
        started: Response = client.authorize_redirect(_callback_url())
        return started
    except (requests.RequestException, ValueError) as exc:
        log.warning("WordPress login could not start: %s", exc)
        return problem("unreachable")


def _callback_url() -> str:
    # From public_url: a forged Host must not send the code elsewhere.
    return external_url("wordpress.callback")


@bp.get("/callback")
def callback() -> Response | tuple[str, int]:
    wp = _settings()
    claims = _claims(wp)
    if isinstance(claims, Response):
        return claims
    email = str(claims.get("email") or claims.get("user_email") or "").strip()
    if not email:
        return problem("no_email")
    if claims.get("email_verified") is False:
        return problem("unverified")
    return sign_in_member(wp, email, _name_of(claims))


def _claims(wp: WordPressSettings) -> dict[str, Any] | Response:
    """What WordPress says of the member, or the page that says why it could not."""
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
    return claims


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
    try:
        # Whatever WordPress calls an email must be one before a CRM contact is made of it.
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError:
        return problem("bad_email")
    name = visible(name)[:200]
    crm = delivery().crm
    try:
        contact = crm.find_contact(email)
        if contact is None and wp.create_contacts:
            contact = crm.create_contact(email, name)
    except CrmError as exc:
        log.warning("CRM look-up failed during WordPress login: %s", exc)
        return render_template("errors/crm_unavailable.html"), 503
    if contact is None:
        return problem("no_contact", email)
    sign_in(contact, FULL, via="wordpress")
    landing = current().embed.landing_url
    # Started from the frame on the WordPress page: go back to that page.
    return redirect(then or landing or url_for("profile.show"))
