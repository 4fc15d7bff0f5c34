"""Fake WordPress identity providers on loopback, for the portal's WordPress login.

`OidcWordPress` follows the "OpenID Connect Server" plugin (Automattic,
wp-openid-connect-server, src/Http/Handlers/ConfigurationHandler.php and
src/Storage/UserClaimsStorage.php; it runs bshaffer/oauth2-server-php):
- discovery at /.well-known/openid-configuration with issuer (the site URL),
  jwks_uri /.well-known/jwks.json, authorization, token and userinfo endpoints
  under /wp-json/openid-connect/, scopes_supported ["openid", "profile"],
  response_types_supported ["code"], RS256 ID tokens, and no PKCE advertised;
- the subject is the WordPress user_login; with scope "profile" the claims are
  username, name (display_name), given_name, family_name, nickname and picture,
  plus the nonce. The plugin sends no email claim: a site adds it with the
  `oidc_user_claims` filter (as the plugin in wordpress/preference-portal/ does).

`OAuthWordPress` follows the "WP OAuth Server" plugin (wp-oauth.com, docs
"OAuth 2.0 Endpoints" and "Extending Endpoints"): /oauth/authorize,
/oauth/token (client credentials by HTTP Basic or in the body; answers
access_token, expires_in, token_type "Bearer", scope, refresh_token) and
/oauth/me, which returns the wp_users row without secrets (ID, user_login,
user_nicename, user_email, user_registered, user_status, display_name).
It supports PKCE (S256).

Both show the logged-in member a consent form (Authorize / Cancel); Cancel
sends them back with error=access_denied. Codes live 30 seconds
(oauth2-server-php's auth_code_lifetime); an expired or reused code is
answered 400 invalid_grant. Each runs in a `FakeServer`, so `go_down()` makes
the provider unreachable.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.fakes.server import FakeServer

CLIENT_ID = "preference-portal"
CLIENT_SECRET = "wordpress-client-secret-for-tests"


@dataclass
class Member:
    user_login: str = "ane"
    email: str = "demo@example.org"
    display_name: str = "Ane Etxeberria"
    first_name: str = "Ane"
    last_name: str = "Etxeberria"
    ID: int = 7


@dataclass
class Grant:
    member: Member
    redirect_uri: str
    scope: str
    nonce: str | None
    challenge: str | None
    issued: float


@dataclass
class Provider:
    """What both plugins share: clients, the logged-in member, codes, tokens."""

    redirect_uri: str = ""  # the registered one; set when the portal's address is known
    member: Member = field(default_factory=Member)
    code_lifetime: float = 30.0
    email_claim: bool = True  # OIDC: the site's oidc_user_claims filter adds `email`
    email_verified: bool | None = None  # OIDC: a site may also add `email_verified`
    replay_nonce: str | None = None  # OIDC: put this nonce in the ID token (a replayed token)
    codes: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, Grant] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    # -- the consent page ------------------------------------------------------

    def authorize(self) -> Any:
        params = request.args if request.method == "GET" else request.form
        if params.get("client_id") != CLIENT_ID:
            return Response("Unknown client", 400)
        if params.get("redirect_uri") != self.redirect_uri:
            return Response("The redirect URI does not match the registered one", 400)
        if params.get("response_type") != "code":
            return Response("unsupported_response_type", 400)
        if request.method == "GET":
            self.authorize_requests.append(dict(params))
            hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                             for k, v in params.items())
            return (f'<form method="post">{hidden}<p>Allow the portal to know who you are?</p>'
                    '<button name="authorize" value="Authorize">Authorize</button>'
                    '<button name="authorize" value="Cancel">Cancel</button></form>')
        state = params.get("state", "")
        if params.get("authorize") != "Authorize":
            return redirect(params["redirect_uri"] + "?" + urlencode({
                "error": "access_denied", "error_description": "The user denied access to your app",
                "state": state}))
        code = secrets.token_hex(20)
        self.codes[code] = Grant(self.member, params["redirect_uri"], params.get("scope", ""),
                                 params.get("nonce"), params.get("code_challenge"), time.time())
        return redirect(params["redirect_uri"] + "?" + urlencode({"code": code, "state": state}))

    # -- the token endpoint ----------------------------------------------------

    def exchange(self) -> tuple[Grant, str] | Response:
        self.token_requests.append(dict(request.form))
        client_id, secret = _client_credentials()
        if client_id != CLIENT_ID or secret != CLIENT_SECRET:
            return _error("invalid_client", "Client credentials were not found", 401)
        if request.form.get("grant_type") != "authorization_code":
            return _error("unsupported_grant_type", "Grant type not supported")
        grant = self.codes.pop(request.form.get("code", ""), None)
        if grant is None:
            return _error("invalid_grant", "Authorization code doesn't exist or is invalid")
        if time.time() > grant.issued + self.code_lifetime:
            return _error("invalid_grant", "The authorization code has expired")
        if request.form.get("redirect_uri") != grant.redirect_uri:
            return _error("redirect_uri_mismatch", "The redirect URI is missing or do not match")
        if grant.challenge:
            verifier = request.form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if digest.rstrip(b"=").decode() != grant.challenge:
                return _error("invalid_grant", "The PKCE code verifier parameter is invalid.")
        access = secrets.token_hex(20)
        self.tokens[access] = grant
        return grant, access

    def bearer(self) -> Grant | None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() or request.args.get("access_token", "")
        return self.tokens.get(token)


def _client_credentials() -> tuple[str, str]:
    if request.authorization and request.authorization.type == "basic":
        return request.authorization.username or "", request.authorization.password or ""
    return request.form.get("client_id", ""), request.form.get("client_secret", "")


def _error(error: str, description: str, status: int = 400) -> Response:
    answer = jsonify({"error": error, "error_description": description})
    answer.status_code = status
    return answer


class OidcWordPress(FakeServer):
    def __init__(self) -> None:
        self.provider = Provider()
        self.key = RSAKey.generate_key(2048, parameters={"kid": "wp-oidc-1", "use": "sig",
                                                         "alg": "RS256"})
        app = Flask("fake_wordpress_oidc")
        provider = self.provider

        @app.get("/.well-known/openid-configuration")
        def configuration() -> Response:
            return jsonify({
                "issuer": self.url + "/",
                "jwks_uri": self.url + "/.well-known/jwks.json",
                "authorization_endpoint": self.url + "/wp-json/openid-connect/authorize",
                "token_endpoint": self.url + "/wp-json/openid-connect/token",
                "userinfo_endpoint": self.url + "/wp-json/openid-connect/userinfo",
                "scopes_supported": ["openid", "profile"],
                "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"],
            })

        @app.get("/.well-known/jwks.json")
        def jwks() -> Response:
            return jsonify({"keys": [self.key.as_dict(private=False)]})

        app.add_url_rule("/wp-json/openid-connect/authorize", "authorize", provider.authorize,
                         methods=["GET", "POST"])

        @app.post("/wp-json/openid-connect/token")
        def token() -> Response:
            result = provider.exchange()
            if isinstance(result, Response):
                return result
            grant, access = result
            claims = {"iss": self.url + "/", "sub": grant.member.user_login, "aud": CLIENT_ID,
                      "iat": int(time.time()), "exp": int(time.time()) + 3600,
                      "auth_time": int(grant.issued), **self.claims(grant)}
            id_token = jwt.encode({"alg": "RS256", "kid": "wp-oidc-1"}, claims, self.key)
            return jsonify({"access_token": access, "expires_in": 3600, "token_type": "Bearer",
                            "scope": grant.scope, "id_token": id_token})

        @app.route("/wp-json/openid-connect/userinfo", methods=["GET", "POST"])
        def userinfo() -> Response:
            grant = provider.bearer()
            if grant is None:
                return _error("invalid_token", "The access token provided is invalid", 401)
            claims = self.claims(grant)
            claims.pop("nonce", None)
            return jsonify({"sub": grant.member.user_login, **claims})

        super().__init__(app)

    def claims(self, grant: Grant) -> dict[str, Any]:
        """UserClaimsStorage::getUserClaims, plus what the site's filter adds."""
        claims: dict[str, Any] = {"scope": grant.scope}
        if grant.nonce:
            claims["nonce"] = self.provider.replay_nonce or grant.nonce
        if "profile" not in grant.scope.split():
            return claims
        member = grant.member
        claims.update(username=member.user_login, name=member.display_name,
                      given_name=member.first_name, family_name=member.last_name,
                      nickname=member.user_login, picture="https://secure.gravatar.com/avatar/x")
        if self.provider.email_claim:
            claims["email"] = member.email
        if self.provider.email_verified is not None:
            claims["email_verified"] = self.provider.email_verified
        return claims

    @property
    def discovery_url(self) -> str:
        return self.url + "/.well-known/openid-configuration"


class OAuthWordPress(FakeServer):
    def __init__(self) -> None:
        self.provider = Provider()
        app = Flask("fake_wp_oauth_server")
        provider = self.provider
        app.add_url_rule("/oauth/authorize", "authorize", provider.authorize,
                         methods=["GET", "POST"])

        @app.post("/oauth/token")
        def token() -> Response:
            result = provider.exchange()
            if isinstance(result, Response):
                return result
            grant, access = result
            return jsonify({"access_token": access, "expires_in": 3600, "token_type": "Bearer",
                            "scope": grant.scope or "basic", "refresh_token": secrets.token_hex(20)})

        @app.get("/oauth/me")
        def me() -> Response:
            grant = provider.bearer()
            if grant is None:
                return _error("invalid_token", "The access token provided is invalid", 401)
            member = grant.member
            return jsonify({"ID": member.ID, "user_login": member.user_login,
                            "user_nicename": member.user_login, "user_email": member.email,
                            "user_registered": "2024-03-01 10:00:00", "user_status": 0,
                            "display_name": member.display_name})

        super().__init__(app)
