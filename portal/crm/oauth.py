"""OAuth2 access tokens for the CRMs that need them (HubSpot, Zoho CRM, Salesforce).

One `TokenManager` per configured CRM obtains an access token (refresh token,
client credentials or a JWT bearer assertion, through authlib), refreshes it
before it expires, and keeps it in a `TokenStore`, so a restart does not
cost a new grant. The store gives one refresher at a time its turn:
concurrent workers, threads, processes or machines, make one call to the
token endpoint between them; the others find the fresh token in the store.

This layer knows no database: `FileTokenStore` (a 0600 file under the
adapter's state folder, behind a file lock) serves one machine and tools;
whoever builds the adapters may give them another store (the portal gives
its database's, shared by every machine) through the `token_stores` option.

`BearerAuth` plugs the manager into `CrmHttp` as a `requests` auth: it puts
the token on every request and, when the CRM says the token is no longer
valid, refreshes once and sends the request again.

An adapter describes its CRM's OAuth application as data (`OAuthApp`: the
endpoints, scopes and consent parameters); `OAuthApp.client()` completes it
from the adapter's options and environment, and `signed()` gives the token
manager and the auth that signs with it.

Tokens are never logged; errors name the setting or command to fix.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import RSAKey

from portal.crm.base import (
    CrmAdapter,
    CrmAuthError,
    CrmConfigError,
    CrmRateLimited,
    CrmUnavailable,
)
from portal.crm.http import USER_AGENT, connection_problem, rate_limit_wait, timeouts

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GRANTS = ("refresh_token", "client_credentials", "jwt_bearer")
# Keys of a token answer that say where the API lives; a refresh answer may omit them.
CARRIED_KEYS = ("refresh_token", "api_domain", "instance_url")
# Errors a token endpoint gives for a refresh token that no longer works
# (RFC 6749 says invalid_grant; Zoho answers invalid_code).
REVOKED_ERRORS = {"invalid_grant", "invalid_code", "invalid_token"}

Clock = Callable[[], float]

_process_locks: dict[Path, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _thread_lock(path: Path) -> threading.Lock:
    with _process_locks_guard:
        return _process_locks.setdefault(path, threading.Lock())


@dataclass(frozen=True)
class OAuthClient:
    """How one CRM hands out tokens, built from an adapter's options (see OAuthApp)."""

    crm: str  # the configured name, for messages and file names
    kind: str  # "hubspot", "zoho", "salesforce"
    token_url: str
    client_id: str
    client_secret: str = ""
    grant: str = "refresh_token"
    scope: str = ""
    authorize_url: str = ""
    redirect_uri: str = ""
    bootstrap_refresh_token: str = ""  # from the environment, used until a refresh is stored
    assertion: Callable[[], str] | None = None  # builds the JWT for the jwt_bearer grant
    default_lifetime: float = 3600.0  # when an answer has no expires_in (Salesforce)
    leeway: float = 120.0  # refresh this many seconds before expiry
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    hint: str = ""  # the settings to check when the CRM refuses the client or grant

    def settings(self) -> str:
        """The settings to check when the CRM refuses this client or its grant."""
        return self.hint or f"client_id and {_env(self.crm, 'CLIENT_SECRET')}"

    def __post_init__(self) -> None:
        if self.grant not in GRANTS:
            raise CrmConfigError(
                f"CRM '{self.crm}': grant must be one of {', '.join(GRANTS)}, not '{self.grant}'.",
                crm=self.crm,
            )


@dataclass(frozen=True)
class OAuthApp:
    """A CRM's OAuth application, as data: its token and consent endpoints as
    templates over the hosts the adapter knows ("{accounts}/oauth/v2/token"),
    the scopes it asks for and any extra consent parameters."""

    token_url: str
    authorize_url: str
    scopes: str = ""
    authorize_params: Mapping[str, str] = field(default_factory=dict)

    def client(self, adapter: CrmAdapter, hosts: Mapping[str, str], *,
               grant: str = "refresh_token", **more: Any) -> OAuthClient:
        """The OAuth client of `adapter`: client_id, scopes, redirect_uri (and
        token_url, authorize_url to override the CRM's) from its options; the
        client secret and a first refresh token from its environment. Scopes
        are asked for on the consent page, which only the refresh-token grant uses."""
        options = adapter.options
        scope = str(options.get("scopes", self.scopes)) if grant == "refresh_token" else ""
        return OAuthClient(
            crm=adapter.name, kind=adapter.kind,
            token_url=str(options.get("token_url", self.token_url.format_map(hosts))),
            authorize_url=str(options.get("authorize_url", self.authorize_url.format_map(hosts))),
            client_id=str(options.get("client_id", "")),
            # The JWT bearer grant proves itself with a signed assertion instead.
            client_secret="" if grant == "jwt_bearer" else adapter.secret("client_secret"),
            grant=grant, scope=scope, redirect_uri=str(options.get("redirect_uri", "")),
            bootstrap_refresh_token=adapter.optional_secret("refresh_token"),
            authorize_params=self.authorize_params, **more)


class TokenStore(Protocol):
    """Where one CRM's tokens are kept, read by every worker that signs
    requests and written by whoever holds the turn."""

    @property
    def where(self) -> str:
        """Where the tokens are, for an operator's eyes."""

    def load(self) -> dict[str, Any] | None:
        """The stored token answer, or None when there is none (or it is unreadable)."""

    def save(self, token: Mapping[str, Any]) -> None: ...

    def turn(self) -> AbstractContextManager[None]:
        """Held while refreshing: one holder at a time, wherever the store is shared."""


TokenStores = Callable[[str], TokenStore]  # the store of the CRM with this configured name


class FileTokenStore:
    """A 0600 JSON file, refreshed under a file lock: shared by the threads
    and processes of one machine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_suffix(".lock")
        self._thread_lock = _thread_lock(path)

    @property
    def where(self) -> str:
        return f"{self.path} (readable by this user only)"

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._thread_lock:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def load(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # a damaged file is as good as none: obtain a new token
        return data if isinstance(data, dict) else None

    def save(self, token: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(dict(token), out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)


def token_file(state_dir: Path, crm: str) -> Path:
    """Where `FileTokenStore` keeps the tokens of `crm` under a state folder."""
    return state_dir / "oauth" / f"{_safe(crm)}.json"


class TokenManager:
    """Valid access tokens for one CRM, shared safely by every worker."""

    def __init__(self, client: OAuthClient, store: TokenStore | Path, *,
                 clock: Clock = time.time, timeout: tuple[float, float] = (3.05, 10.0)) -> None:
        """`store`: where the tokens are kept, or a state folder to keep them
        in a file under."""
        self.client = client
        self.clock = clock
        self.timeout = timeout
        self.store = FileTokenStore(token_file(store, client.crm)) \
            if isinstance(store, Path) else store
        self._cached: dict[str, Any] | None = None
        self._rejected: set[str] = set()  # access tokens the CRM said are no longer valid
        self.token_requests = 0  # calls to the token endpoint by this manager, for tests

    def __repr__(self) -> str:  # never show a token
        return f"TokenManager({self.client.crm!r}, {self.client.grant!r})"

    # reading ------------------------------------------------------------------

    def token(self) -> dict[str, Any]:
        """A token that is valid for at least `leeway` more seconds."""
        cached = self._cached
        if cached is not None and self._usable(cached):
            return cached
        stored = self.store.load()
        if stored is not None and self._usable(stored):
            self._cached = stored
            return stored
        with self.store.turn():
            stored = self.store.load()  # whoever held the turn before may have refreshed
            if stored is not None and self._usable(stored):
                self._cached = stored
                return stored
            fresh = self._obtain(stored or {})
            self.store.save(fresh)
            self._cached = fresh
            return fresh

    def access_token(self) -> str:
        return str(self.token()["access_token"])

    def value(self, key: str) -> str | None:
        """A non-secret value from the token answer, such as `api_domain` or `instance_url`."""
        found = self.token().get(key)
        return str(found) if found else None

    def invalidate(self, access_token: str) -> None:
        """The CRM refused `access_token`: the next `token()` gets another one,
        unless another worker already did."""
        self._rejected.add(access_token)
        if self._cached is not None and self._cached.get("access_token") == access_token:
            self._cached = None

    def _usable(self, token: Mapping[str, Any]) -> bool:
        if not token.get("access_token") or token["access_token"] in self._rejected:
            return False
        return float(token.get("expires_at", 0)) - self.client.leeway > self.clock()

    # obtaining ----------------------------------------------------------------

    def _session(self, **kwargs: Any) -> OAuth2Session:
        session = OAuth2Session(
            client_id=self.client.client_id,
            client_secret=self.client.client_secret or None,
            # All three CRMs read the client from the form body.
            token_endpoint_auth_method="client_secret_post",  # noqa: S106
            # Scopes are asked for on the consent page only: refresh answers keep them, and
            # Zoho's token endpoint documents no scope field.
            scope=None,
            **kwargs,
        )
        session.headers["User-Agent"] = USER_AGENT
        session.register_compliance_hook("access_token_response", self._check_answer)
        session.register_compliance_hook("refresh_token_response", self._check_answer)
        return session

    def _check_answer(self, response: requests.Response) -> requests.Response:
        """Map the token endpoint's own trouble before authlib reads the answer."""
        crm = self.client.crm
        if response.status_code == 429:
            raise CrmRateLimited(f"The {self.client.kind} token endpoint is rate limiting '{crm}'.",
                                 crm=crm, retry_after=rate_limit_wait(response))
        if response.status_code >= 500:
            raise CrmUnavailable(
                f"The {self.client.kind} token endpoint answered {response.status_code}.", crm=crm)
        return response

    def _obtain(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        client = self.client
        refresh = stored.get("refresh_token") or client.bootstrap_refresh_token
        bootstrap = client.bootstrap_refresh_token
        if stored.get("revoked") == _digest(refresh or "") and bootstrap \
                and _digest(bootstrap) != stored["revoked"]:
            refresh = bootstrap  # a new refresh token given in the environment since
        if client.grant == "refresh_token":
            if not refresh:
                raise CrmAuthError(
                    f"The {client.kind} CRM '{client.crm}' has no OAuth token yet: run "
                    f"`portal crm authorize {client.crm}`.", crm=client.crm)
            if stored.get("revoked") == _digest(refresh):
                raise self._revoked()
            answer = self._call(lambda s: s.refresh_token(client.token_url, refresh_token=refresh,
                                                          timeout=self.timeout),
                                revoked_digest=_digest(refresh))
        elif client.grant == "client_credentials":
            answer = self._call(lambda s: s.fetch_token(client.token_url, timeout=self.timeout,
                                                        grant_type="client_credentials"))
        else:
            if client.assertion is None:
                raise CrmConfigError(f"CRM '{client.crm}': the JWT bearer grant needs a key.",
                                     crm=client.crm)
            assertion = client.assertion()
            answer = self._call(lambda s: s.fetch_token(client.token_url, timeout=self.timeout,
                                                        grant_type=JWT_BEARER, assertion=assertion))
        return self._stamp(answer, stored)

    def _call(self, send: Callable[[OAuth2Session], Any], revoked_digest: str = "") -> dict[str, Any]:
        crm, kind = self.client.crm, self.client.kind
        self.token_requests += 1
        session = self._session()
        try:
            return dict(send(session))
        except OAuthError as exc:
            error = str(getattr(exc, "error", "") or "")
            if revoked_digest and error in REVOKED_ERRORS:
                self._mark_revoked(revoked_digest)
                raise self._revoked() from None
            hint = self.client.settings()
            if error in ("invalid_client", "unauthorized_client"):
                raise CrmAuthError(f"{kind} refused the OAuth client of '{crm}' ({error}): "
                                   f"check {hint}.", crm=crm) from None
            description = str(getattr(exc, "description", "") or "")
            raise CrmAuthError(f"{kind} refused a token for '{crm}' ({error}: {description}): "
                               f"check {hint}.", crm=crm) from None
        except requests.Timeout as exc:
            raise CrmUnavailable(f"The {kind} token endpoint did not answer in time.",
                                 crm=crm) from exc
        except requests.ConnectionError as exc:
            raise CrmUnavailable(f"Could not reach the {kind} token endpoint of '{crm}': "
                                 f"{connection_problem(exc)}.", crm=crm) from exc
        except requests.RequestException as exc:
            raise CrmUnavailable(f"The {kind} token endpoint failed: {type(exc).__name__}.",
                                 crm=crm) from exc
        except ValueError as exc:  # a body that is not a token answer
            raise CrmUnavailable(f"The {kind} token endpoint gave no token answer.", crm=crm) from exc
        finally:
            session.close()

    def _revoked(self) -> CrmAuthError:
        crm = self.client.crm
        return CrmAuthError(f"The refresh token was revoked: run `portal crm authorize {crm}`.",
                            crm=crm)

    def _stamp(self, answer: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
        token = {key: stored[key] for key in CARRIED_KEYS if stored.get(key)}
        if self.client.bootstrap_refresh_token and "refresh_token" not in token:
            token["refresh_token"] = self.client.bootstrap_refresh_token
        token.update({k: v for k, v in answer.items() if v not in (None, "")})
        token.pop("expires_at", None)
        # Zoho once sent expires_in in milliseconds with expires_in_sec beside it.
        lifetime = answer.get("expires_in_sec", answer.get("expires_in"))
        try:
            seconds = float(lifetime) if lifetime is not None else self.client.default_lifetime
        except (TypeError, ValueError):
            seconds = self.client.default_lifetime
        token["expires_at"] = self.clock() + seconds
        if "access_token" not in token:
            raise CrmUnavailable(f"The {self.client.kind} token endpoint gave no access token.",
                                 crm=self.client.crm)
        return token

    # the authorization-code flow (portal crm authorize) ------------------------

    def authorization_url(self, redirect_uri: str) -> tuple[str, str]:
        """The URL an administrator opens to grant access, and its `state`."""
        if not self.client.authorize_url:
            raise CrmConfigError(f"CRM '{self.client.crm}' has no authorize URL.",
                                 crm=self.client.crm)
        session = self._session(redirect_uri=redirect_uri)
        try:
            url, state = session.create_authorization_url(
                self.client.authorize_url, state=uuid.uuid4().hex,
                **({"scope": self.client.scope} if self.client.scope else {}),
                **self.client.authorize_params)
        finally:
            session.close()
        return url, state

    def exchange_code(self, code: str, redirect_uri: str, token_url: str | None = None) -> dict[str, Any]:
        """Trade an authorization code for tokens and store them."""
        url = token_url or self.client.token_url
        session = self._session(redirect_uri=redirect_uri)
        self.token_requests += 1
        try:
            answer = dict(session.fetch_token(url, grant_type="authorization_code", code=code,
                                              timeout=self.timeout))
        except OAuthError as exc:
            raise CrmAuthError(f"{self.client.kind} refused the authorization code: "
                               f"{getattr(exc, 'error', '')} {getattr(exc, 'description', '') or ''}"
                               .strip(), crm=self.client.crm) from None
        except requests.RequestException as exc:
            raise CrmUnavailable(f"Could not reach the {self.client.kind} token endpoint: "
                                 f"{type(exc).__name__}.", crm=self.client.crm) from exc
        finally:
            session.close()
        if not answer.get("refresh_token"):
            raise CrmAuthError(f"{self.client.kind} gave no refresh token: ask for offline access "
                               "(the refresh_token scope or access_type=offline).",
                               crm=self.client.crm)
        with self.store.turn():
            token = self._stamp(answer, {})
            self.store.save(token)
            self._cached = token
        return token

    def _mark_revoked(self, digest: str) -> None:
        # Remember the dead refresh token so every request does not knock on the
        # token endpoint again; `portal crm authorize` stores new tokens.
        stored = self.store.load() or {}
        stored["revoked"] = digest
        stored.pop("access_token", None)
        self.store.save(stored)


class BearerAuth(requests.auth.AuthBase):
    """Sign each request with the current access token; on a refused token,
    refresh once and send the request again."""

    def __init__(self, tokens: TokenManager, *, scheme: str = "Bearer",
                 expired: Callable[[requests.Response], bool] | None = None) -> None:
        self.tokens = tokens
        self.scheme = scheme
        self.expired = expired or (lambda response: response.status_code == 401)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"{self.scheme} {self.tokens.access_token()}"
        # types-requests leaves register_hook unannotated.
        request.register_hook("response", self._retry_once)  # type: ignore[no-untyped-call]
        return request

    def _retry_once(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if getattr(response.request, "_token_retried", False) or not self.expired(response):
            return response
        used = str(response.request.headers.get("Authorization", "")).removeprefix(f"{self.scheme} ")
        self.tokens.invalidate(used)
        _ = response.content  # free the connection for the retry
        response.close()
        again = response.request.copy()
        again.headers["Authorization"] = f"{self.scheme} {self.tokens.access_token()}"
        again._token_retried = True  # type: ignore[attr-defined]
        retried = response.connection.send(again, **kwargs)
        retried.history.append(response)
        retried.request = again
        return retried


def signed(adapter: CrmAdapter, client: OAuthClient, *, scheme: str = "Bearer",
           expired: Callable[[requests.Response], bool] | None = None,
           ) -> tuple[TokenManager, BearerAuth]:
    """The token manager of `adapter`, keeping its tokens in the store its
    builder gave (the `token_stores` option) or else in its state folder,
    and the auth that signs each request with them."""
    stores: TokenStores | None = adapter.options.get("token_stores")
    store = stores(client.crm) if stores is not None else adapter.state_dir
    tokens = TokenManager(client, store, timeout=timeouts(adapter.options))
    return tokens, BearerAuth(tokens, scheme=scheme, expired=expired)


def jwt_assertion(*, issuer: str, subject: str, audience: str, private_key_pem: str,
                  lifetime: int = 180, clock: Clock = time.time) -> str:
    """An RS256-signed JWT for the jwt-bearer grant (RFC 7523)."""
    try:
        key = RSAKey.import_key(private_key_pem)
    except Exception as exc:  # joserfc raises several types for a bad PEM
        raise CrmConfigError(f"The JWT private key cannot be read: {type(exc).__name__}.") from exc
    now = int(clock())
    claims = {"iss": issuer, "sub": subject, "aud": audience, "exp": now + lifetime}
    return jwt.encode({"alg": "RS256"}, claims, key)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "crm"


def _env(crm: str, key: str) -> str:
    return f"PORTAL_CRM_{crm}_{key}".upper().replace("-", "_")
