"""The WordPress assertion door: a member logged in to the WordPress site
reaches their preferences with no click at all.

The portal's WordPress plugin signs a short-lived assertion (an HS256 JWT
with a secret both sides share) about the member viewing the page, and posts
it in a form to `POST /wordpress/enter`, inside the frame or in the whole
window. The portal checks it and signs the member in to the CRM contact with
their email. The assertion travels only in POST bodies, never in a URL, and
no log line of ours prints it.

`GET /wordpress/health` and `POST /wordpress/health` answer the plugin's
"check connection" button in JSON: which version answers, its clock, whether
the asking site may frame the portal and whether the shared secret matches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, abort, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import OctKey
from werkzeug.wrappers import Response

from portal.auth.used_assertions import UsedAssertions
from portal.auth.views import LinkRequestForm
from portal.auth.wordpress import sign_in_member
from portal.config import current
from portal.config.wordpress import AssertionSettings, WordPressSettings
from portal.hosting.security import csrf
from portal.hosting.urls import public_root
from portal.i18n import current_language
from portal.shipped import VERSION

log = logging.getLogger(__name__)
bp = Blueprint("wordpress_assertion", __name__, url_prefix="/wordpress")

ALGORITHM = "HS256"  # the only one accepted: never "none", never one the token picks
LEEWAY = 30  # seconds the two clocks may differ
MAX_LIFETIME = 300  # seconds: an assertion is made for the page view at hand
MAX_LENGTH = 8192  # characters: a member's assertion is far shorter
CHECK = "check"  # the `purpose` of the settings page's test assertion

# Each way an assertion can be refused, and the status its page answers with.
REFUSALS = {"disabled": 404, "no_secret": 503, "malformed": 400, "signature": 400,
            "issuer": 400, "audience": 400, "expired": 400, "replayed": 400, "role": 403}


class Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Door:
    wordpress: WordPressSettings | None
    used: UsedAssertions

    @property
    def settings(self) -> AssertionSettings | None:
        return self.wordpress.assertion if self.wordpress is not None else None

    @property
    def site_name(self) -> str:
        return self.wordpress.site_name if self.wordpress is not None else ""


def init_app(app: Flask) -> None:
    app.extensions["portal_wordpress_assertion"] = Door(
        wordpress=app.config["PORTAL"].wordpress,
        used=UsedAssertions(Path(app.instance_path) / "portal-state.sqlite3"))
    # The assertion is the proof that the post comes from WordPress: no CSRF token here.
    csrf.exempt(bp)
    app.register_blueprint(bp)


def _door() -> Door:
    door: Door = current_app.extensions["portal_wordpress_assertion"]
    return door


def audience() -> str:
    """The portal's public address, which the assertions must be made out to."""
    return public_root()


def verify(token: str, settings: AssertionSettings, used: UsedAssertions, aud: str,
           purpose: str = "") -> dict[str, Any]:
    """The assertion's claims, once signature, issuer, audience, times and
    purpose hold and its id was never used before; else raise Refused."""
    if not settings.secret:
        raise Refused("no_secret")
    if not token or len(token) > MAX_LENGTH:
        raise Refused("malformed")
    try:
        decoded = jwt.decode(token, OctKey.import_key(settings.secret), algorithms=[ALGORITHM])
        claims = dict(decoded.claims)
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY, iss={"essential": True}, aud={"essential": True},
            iat={"essential": True}, exp={"essential": True}, jti={"essential": True},
        ).validate(claims)
    except (BadSignatureError, UnsupportedAlgorithmError) as exc:
        raise Refused("signature") from exc
    except ExpiredTokenError as exc:
        raise Refused("expired") from exc
    except ClaimError as exc:
        raise Refused("expired" if exc.claim == "iat" else "malformed") from exc
    except (JoseError, ValueError) as exc:
        raise Refused("malformed") from exc
    if str(claims["iss"]).rstrip("/") != settings.site_url:
        raise Refused("issuer")
    if str(claims["aud"]).rstrip("/") != aud:
        raise Refused("audience")
    if not _numbers(claims["iat"], claims["exp"]) or claims["exp"] - claims["iat"] > MAX_LIFETIME:
        raise Refused("malformed")
    if claims.get("purpose", "") != purpose:
        raise Refused("malformed")
    if not isinstance(claims["jti"], str) or len(claims["jti"]) < 16:
        raise Refused("malformed")
    if not used.remember(f"{claims['iss']} {claims['jti']}", claims["exp"] + LEEWAY):
        raise Refused("replayed")
    return claims


def _numbers(*values: object) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def member_of(claims: Mapping[str, Any], settings: AssertionSettings) -> tuple[str, str]:
    """The member's email and name, once their role may use this door."""
    roles = claims.get("roles")
    if not isinstance(roles, list) or not set(settings.roles) & {str(r) for r in roles}:
        raise Refused("role")
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or not claims.get("sub"):
        raise Refused("malformed")
    return email.strip(), str(claims.get("name") or "")


@bp.post("/enter")
def enter() -> Response | tuple[str, int]:
    door = _door()
    if door.settings is None:
        abort(404)
    current_language()  # settles ?lang= in the session before sign-in renews it
    try:
        claims = verify(request.form.get("assertion", ""), door.settings, door.used, audience())
        email, name = member_of(claims, door.settings)
    except Refused as refused:
        # The reason only: the assertion itself never goes to a log.
        log.info("WordPress assertion refused: %s", refused.reason)
        return refused_page(refused.reason, door.site_name)
    assert door.wordpress is not None  # it has settings
    return sign_in_member(door.wordpress, email, name, then=url_for("profile.show"))


def refused_page(reason: str, site: str) -> tuple[str, int]:
    """The normal sign-in page, saying why the WordPress sign-in did not work."""
    if reason in ("expired", "replayed"):
        notice = _("Your sign-in from %(site)s has expired. Reload that page to try again, "
                   "or ask for a link by email below.", site=site)
    elif reason == "role":
        notice = _("Your account at %(site)s cannot be used to sign in here. Ask for a link "
                   "by email below.", site=site)
    else:
        notice = _("We could not confirm your sign-in from %(site)s. Ask for a link by email "
                   "below.", site=site)
    return render_template("auth/start.html", form=LinkRequestForm(formdata=None),
                           refused=notice, refused_reason=reason), REFUSALS[reason]


@bp.get("/health")
def health() -> Response:
    """What the plugin's connection check needs to know, in JSON."""
    door = _door()
    origin = request.args.get("origin", "").rstrip("/")
    return jsonify({
        "service": "preference-portal",
        "version": VERSION,
        "time": int(time.time()),
        "origin": origin,
        "origin_allowed": bool(origin) and origin in current().embed.frame_ancestors,
        "assertion": door.settings is not None,
        "secret_set": bool(door.settings and door.settings.secret),
        "site_url": door.settings.site_url if door.settings else "",
        "audience": audience(),
    })


@bp.post("/health")
def health_check_assertion() -> Response:
    """Whether a test assertion (purpose "check") passes; signs nobody in."""
    door = _door()
    if door.settings is None:
        return jsonify({"result": "disabled"})
    try:
        verify(request.form.get("assertion", ""), door.settings, door.used, audience(),
               purpose=CHECK)
    except Refused as refused:
        return jsonify({"result": refused.reason})
    return jsonify({"result": "ok"})
