"""Assertions as the WordPress plugin makes them (HS256 JWTs), and the
portal with its assertion door configured, served over real HTTP."""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

from joserfc import jwt
from joserfc.jwk import OctKey

SECRET = "a-shared-secret-of-forty-characters-long"
SITE = "https://www.example.org"


def door_section(site: str = SITE, roles: str = '["subscriber"]', extra: str = "") -> str:
    return (f'[wordpress]\nassertion = true\nsite_name = "Demo Elkartea"\nsite_url = "{site}"\n'
            f"assertion_roles = {roles}\n{extra}")


def claims_for(audience: str, *, email: str = "demo@example.org", roles: tuple[str, ...] = (
        "subscriber",), issuer: str = SITE, lifetime: int = 60, issued: float | None = None,
        **more: Any) -> dict[str, Any]:
    iat = int(time.time() if issued is None else issued)
    return {"iss": issuer, "aud": audience, "iat": iat, "exp": iat + lifetime,
            "jti": secrets.token_hex(16), "sub": "7", "email": email, "name": "Ane Etxeberria",
            "roles": list(roles), "locale": "eu", **more}


def sign(claims: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, OctKey.import_key(secret))


def unsigned(claims: dict[str, Any]) -> str:
    """The "alg": "none" forgery: no signature at all."""
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."
