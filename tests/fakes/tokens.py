"""A fake OAuth2 token endpoint shared by the HubSpot, Zoho and Salesforce fakes.

It follows RFC 6749 section 5 (form-encoded grant, JSON answer with
access_token / expires_in / refresh_token; errors as {"error": ...} with 400)
and RFC 7523 for the jwt-bearer grant (the assertion is checked against the
configured public key). Each CRM fake adds its own keys to the answer
(Zoho `api_domain`, Salesforce `instance_url`) and may change how errors are
shaped (Zoho answers 200 with {"error": "invalid_code"}).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Response, jsonify
from joserfc import jwt
from joserfc.jwk import RSAKey

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class FakeTokens:
    client_id: str = "client-id"
    client_secret: str = "client-secret"
    lifetime: int | None = 1800  # expires_in sent; None: send none (Salesforce)
    server_lifetime: float = 3600.0  # how long the fake honours a token
    codes: set[str] = field(default_factory=lambda: {"good-code"})
    refresh_tokens: set[str] = field(default_factory=lambda: {"refresh-1"})
    jwt_key: RSAKey | None = None  # public key that signs jwt-bearer assertions
    jwt_subject: str = ""
    extra: Callable[[], Mapping[str, Any]] = dict  # keys the CRM adds to every answer
    error_status: int = 400  # Zoho: 200
    include_refresh_on_refresh: bool = False
    grants_seen: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._access: dict[str, float] = {}

    # what tests do ------------------------------------------------------------

    def expire_all(self) -> None:
        """Every access token issued so far stops working (the CRM's session ended)."""
        with self._lock:
            self._access.clear()

    def revoke_all_refresh_tokens(self) -> None:
        self.refresh_tokens.clear()

    def issue(self) -> str:
        token = "at-" + secrets.token_hex(8)
        with self._lock:
            self._access[token] = time.time() + self.server_lifetime
        return token

    def valid(self, token: str) -> bool:
        with self._lock:
            return self._access.get(token, 0) > time.time()

    # the endpoint ---------------------------------------------------------------

    def answer(self, form: Mapping[str, str]) -> Response:
        grant = form.get("grant_type", "")
        self.grants_seen.append(grant)
        if grant == JWT_BEARER:
            return self._jwt(form)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return self._error("invalid_client", "client authentication failed", 401)
        if grant == "authorization_code":
            if form.get("code") not in self.codes:
                return self._error("invalid_grant", "authorization code is invalid or expired")
            self.codes.discard(form["code"])
            refresh = "refresh-" + secrets.token_hex(6)
            self.refresh_tokens.add(refresh)
            return self._token(refresh)
        if grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return self._error("invalid_grant", "expired access/refresh token")
            return self._token(form["refresh_token"] if self.include_refresh_on_refresh else None)
        if grant == "client_credentials":
            return self._token(None)
        return self._error("unsupported_grant_type", grant)

    def _jwt(self, form: Mapping[str, str]) -> Response:
        if self.jwt_key is None:
            return self._error("unsupported_grant_type", JWT_BEARER)
        try:
            claims = jwt.decode(form.get("assertion", ""), self.jwt_key).claims
        except Exception:
            return self._error("invalid_grant", "invalid assertion")
        if claims.get("iss") != self.client_id or claims.get("sub") != self.jwt_subject:
            return self._error("invalid_grant", "user hasn't approved this consumer")
        if float(claims.get("exp", 0)) < time.time():
            return self._error("invalid_grant", "expired assertion")
        return self._token(None)

    def _token(self, refresh: str | None) -> Response:
        body: dict[str, Any] = {"access_token": self.issue(), "token_type": "Bearer"}
        if self.lifetime is not None:
            body["expires_in"] = self.lifetime
        if refresh:
            body["refresh_token"] = refresh
        body.update(self.extra())
        return jsonify(body)

    def _error(self, error: str, description: str, status: int = 400) -> Response:
        response = jsonify({"error": error, "error_description": description})
        response.status_code = self.error_status if status == 400 else status
        return response
