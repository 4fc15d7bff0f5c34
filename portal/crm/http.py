"""The one HTTP client every remote CRM adapter uses, and the small helpers
the adapters share.

It owns what adapters share: one pooled `requests` session per CRM,
timeouts, a User-Agent, the outbound rate limiter, paging, and the mapping
of HTTP outcomes to the contract's errors, with each CRM's JSON refusals
described as data (`ErrorFormat`). Adapters only say which path to call and
how to read the answer. It does not retry: the writer and the pages decide
what to do with a transient error (`CrmError.transient`).

Secrets the client is given (an API token in a header, a Basic-auth
password) are scrubbed from every message and log line it makes. Tokens an
auth object adds to each request (OAuth, HubSpot's private-app token) are
not known to it; only their `token=`-style query form is masked.
"""

from __future__ import annotations

import email.utils
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from importlib import metadata
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter

from portal.crm.base import (
    CrmAuthError,
    CrmConfigError,
    CrmError,
    CrmNotFound,
    CrmRateLimited,
    CrmUnavailable,
    CrmValidationError,
)

log = logging.getLogger(__name__)

def _installed_version() -> str:
    try:
        return metadata.version("contact-preference-portal")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0"


VERSION = _installed_version()
USER_AGENT = f"contact-preference-portal/{VERSION} (+python-requests)"
SECRET_QUERY = re.compile(r"(?i)((?:api[_-]?key|hapikey|token|access_token|secret|password)=)[^&\s]+")
# Header values that carry credentials; their values are scrubbed from messages.
SECRET_HEADERS = ("authorization", "api-token", "x-api-key", "api-key")


class OutboundLimiter(Protocol):
    """Keeps the portal under a CRM's request budget, shared by every worker."""

    def acquire(self, crm: str) -> None:
        """Block until a request may go out, or raise CrmRateLimited."""


class NoLimit:
    def acquire(self, crm: str) -> None:
        return None


Classifier = Callable[[requests.Response], "CrmError | None"]


def retry_after_seconds(value: str | None) -> float | None:
    """Read a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return wait_until(parsed.timestamp())


def wait_until(instant: float) -> float:
    """Seconds from now to an instant the CRM gave to the second, rounded up
    so that a retry never lands before the window reopens."""
    return float(max(0, math.ceil(instant - time.time())))


def rate_limit_wait(response: requests.Response) -> float | None:
    """The wait a 429 asks for: Retry-After, else a RateLimit-Reset header
    (seconds to wait, or an epoch time as some CRMs send)."""
    wait = retry_after_seconds(response.headers.get("Retry-After"))
    if wait is not None:
        return wait
    for name in ("RateLimit-Reset", "X-RateLimit-Reset", "X-Rate-Limit-Reset"):
        raw = response.headers.get(name)
        if not raw:
            continue
        try:
            number = float(raw)
        except ValueError:
            continue
        # Values past 2001 in epoch seconds are instants, the rest are deltas.
        return wait_until(number) if number > 1e9 else max(0.0, number)
    return None


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    text = SECRET_QUERY.sub(r"\1***", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def crm_reason(response: requests.Response, secrets: Iterable[str] = ()) -> str:
    """The CRM's own words about a refusal, whatever shape its error body has."""
    try:
        body = response.json()
    except ValueError:
        return redact(response.text[:300], secrets)
    return redact(_reason_from(body), secrets)[:500]


def _reason_from(body: Any) -> str:
    if isinstance(body, list):
        return "; ".join(_reason_from(item) for item in body[:5])
    if isinstance(body, dict):
        return _reason_from_object(body)
    if isinstance(body, str):
        return body
    return str(body)[:300]


def _reason_from_object(body: dict[str, Any]) -> str:
    for key in ("message", "detail", "error_description", "title", "error"):
        if isinstance(body.get(key), str) and body[key]:
            return str(body[key])
    for key in ("errors", "error", "data", "details"):
        if body.get(key):
            return _reason_from(body[key])
    # DRF style: {"field": ["This field is required."]}
    parts = [f"{key}: {_reason_from(value)}" for key, value in list(body.items())[:5]
             if isinstance(value, list | str)]
    return "; ".join(parts) if parts else str(body)[:300]


def answer_json(response: requests.Response) -> Any:
    """The JSON of an answer, or None when it has none (empty, HTML)."""
    try:
        return response.json()
    except ValueError:
        return None


def _at(entry: Any, path: Sequence[str | int]) -> Any:
    for step in path:
        try:
            entry = entry[step]
        except (KeyError, IndexError, TypeError):
            return None
    return entry


def _entries(body: Any) -> list[dict[str, Any]]:
    return [e for e in (body if isinstance(body, list) else [body]) if isinstance(e, dict)]


class _EntryText(dict[str, Any]):
    """An error entry for `str.format_map`: a key it lacks reads as blank."""

    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class ErrorFormat:
    """How a CRM words its JSON refusals, as data: where the error entries
    are, which key holds an entry's code and where an entry names the field.

    Given to `CrmHttp`, it turns a 400 into a refusal of the named field that
    keeps the CRM's own reason (`reason`, a template over the entry's keys
    and `field`), and a quota code, whatever the status, into a wait.
    """

    vendor: str  # the CRM's name in messages
    entries: str = "errors"  # the key of the entry list; an answer that is a list is the list
    code: str = "code"
    field: tuple[str | int, ...] = ()  # the path to the field name inside an entry
    reason: str = "{message}"
    quota: frozenset[str] = frozenset()  # codes saying the CRM's request quota is spent
    records: tuple[str | int, ...] = ()  # where an error of a batch answer names its records
    missing: tuple[str, str] = ("", "")  # key and value of a batch error about missing records

    def entries_of(self, response: requests.Response) -> list[dict[str, Any]]:
        body = answer_json(response)
        found = body.get(self.entries) if isinstance(body, dict) else body
        return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []

    def codes(self, response: requests.Response) -> set[str]:
        """Every error code the answer carries, a top-level one included."""
        body = answer_json(response)
        top = [body] if isinstance(body, dict) else []
        return {str(e[self.code]) for e in (*top, *self.entries_of(response)) if e.get(self.code)}

    def says(self, code: str, status: int | None = None) -> Callable[[requests.Response], bool]:
        """A test of whether an answer (with `status`, if given) carries `code`."""
        return lambda r: (status is None or r.status_code == status) and code in self.codes(r)

    def field_of(self, entry: Any) -> str:
        for step in self.field:
            try:
                entry = entry[step]
            except (KeyError, IndexError, TypeError):
                return ""
        return str(entry) if entry and self.field else ""

    def named(self, response: requests.Response) -> list[tuple[str, str]]:
        """(code, field) of each entry."""
        return [(str(e.get(self.code) or ""), self.field_of(e)) for e in self.entries_of(response)]

    def classify(self, response: requests.Response, crm: str,
                 secrets: Iterable[str] = ()) -> CrmError | None:
        spent = sorted(self.codes(response) & self.quota)
        if spent:
            return CrmRateLimited(f"{self.vendor} '{crm}' is limiting the portal ({spent[0]}).",
                                  crm=crm, retry_after=rate_limit_wait(response))
        entries = self.entries_of(response) if response.status_code == 400 else []
        if not entries:
            return None
        entry = next((e for e in entries if self.field_of(e)), entries[0])
        field = self.field_of(entry)
        said = crm_reason(response, secrets)
        reason = redact(self.reason.format_map(_EntryText(entry, field=field)), secrets)
        return CrmValidationError(f"{self.vendor} refused {field or 'the change'}: {said}", crm=crm,
                                  reason=reason.strip() or said, field=field)

    def batch_refusals(self, body: Any, refs: Collection[str], crm: str) -> dict[str, CrmError]:
        """The records a batch answer's `errors` refuse, by ref: each error names
        its records at `records` (all of the batch when it names none), and is
        not found when it says so as `missing` says, else a refusal of the field."""
        refused: dict[str, CrmError] = {}
        for error in (body or {}).get("errors", []) if isinstance(body, dict) else []:
            named = [str(r) for r in _at(error, self.records) or [] if str(r) in refs] or refs
            status = 404 if self.missing[0] and error.get(self.missing[0]) == self.missing[1] else 400
            refused.update({ref: self.refusal(status, error.get("errors") or error, crm)
                            for ref in named})
        return refused

    def codes_in(self, body: Any) -> set[str]:
        """The error codes of a parsed error body (an entry or a list of them)."""
        return {str(e.get(self.code) or "") for e in _entries(body)}

    def refusal(self, status: int, body: Any, crm: str) -> CrmError:
        """The contract's error for one part of a batch or composite answer:
        its own status and body (entries as in a whole answer), the quota codes
        a wait, 404 not found, the rest a refusal naming the field."""
        entries = _entries(body)
        codes = self.codes_in(body)
        if codes & self.quota:
            return CrmRateLimited(f"{self.vendor} '{crm}' is limiting the portal "
                                  f"({sorted(codes & self.quota)[0]}).", crm=crm)
        if status == 404:
            return CrmNotFound(f"{self.vendor} '{crm}': not found.", crm=crm)
        entry = entries[0] if entries else {}
        field = self.field_of(entry)
        reason = self.reason.format_map(_EntryText(entry, field=field)).strip() or str(body)[:300]
        return CrmValidationError(f"{self.vendor} refused {field or 'the change'}: {reason}",
                                  crm=crm, reason=reason, field=field)


class CrmHttp:
    """A pooled session for one CRM with its base URL, auth and error mapping.

    `credentials_hint` names the setting to fix when the CRM refuses the
    credentials (401), `permissions_hint` what to grant when it denies
    permission (403). Credentials in `headers` and a Basic `auth` password
    are scrubbed from messages. `errors` says how the CRM words a refusal;
    `classify` maps what no shared rule knows.
    """

    def __init__(
        self,
        crm: str,
        base_url: str,
        *,
        auth: requests.auth.AuthBase | None = None,
        headers: dict[str, str] | None = None,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        limiter: OutboundLimiter | None = None,
        classify: Classifier | None = None,
        errors: ErrorFormat | None = None,
        credentials_hint: str = "",
        permissions_hint: str = "",
    ) -> None:
        self.crm = crm
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.limiter: OutboundLimiter = limiter or NoLimit()
        self.classify = classify
        self.errors = errors
        self.credentials_hint = credentials_hint
        self.permissions_hint = permissions_hint
        self._lock = threading.Lock()
        self.calls = 0  # requests sent, for tests and benchmarks
        self.session = requests.Session()
        pooled = HTTPAdapter(pool_connections=10, pool_maxsize=10)
        self.session.mount("https://", pooled)
        self.session.mount("http://", pooled)
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        if headers:
            self.session.headers.update(headers)
        if auth is not None:
            self.session.auth = auth
        self.secrets: set[str] = set()
        for name, value in (headers or {}).items():
            if name.lower() in SECRET_HEADERS and value:
                self.secrets.add(value)
                self.secrets.add(value.split(" ", 1)[-1])  # "Token abc" -> "abc"
        password = getattr(auth, "password", None)
        if isinstance(password, str) and password:
            self.secrets.add(password)

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        ok: Iterable[int] = (),
        **kwargs: Any,
    ) -> requests.Response:
        """Send one request; return the response if it succeeded (2xx or `ok`),
        else raise the contract error it maps to."""
        self.limiter.acquire(self.crm)
        kwargs.setdefault("timeout", self.timeout)
        with self._lock:
            self.calls += 1
        where = f"{method} {self._path(path)}"
        try:
            response = self.session.request(method, self.url(path), **kwargs)
        except requests.Timeout as exc:
            raise CrmUnavailable(f"{self.crm} did not answer in time ({where}).",
                                 crm=self.crm) from exc
        except requests.ConnectionError as exc:
            raise CrmUnavailable(
                f"Could not reach {self.crm} ({where}): {connection_problem(exc)}.",
                crm=self.crm,
            ) from exc
        except CrmError:
            raise
        except requests.RequestException as exc:  # invalid URL, too many redirects...
            raise CrmUnavailable(f"{self.crm}: {type(exc).__name__} on {where}.",
                                 crm=self.crm) from exc
        if 200 <= response.status_code < 300 or response.status_code in set(ok):
            return response
        raise self.error_for(response, method, path)

    def create(self, path: str, *, taken: Callable[[requests.Response], bool],
               **kwargs: Any) -> tuple[requests.Response, bool]:
        """POST a new record: (answer, True) when created, (answer, False) when
        the CRM refused it because a unique value (the email) is taken, as
        `taken` recognises; any other refusal raises as `request` does."""
        response = self.request("POST", path, ok=range(400, 500), **kwargs)
        if response.status_code < 400:
            return response, True
        if taken(response):
            return response, False
        raise self.error_for(response, "POST", path)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            # A proxy or captive portal answering HTML instead of the CRM.
            raise CrmUnavailable(
                f"{self.crm} answered {method} {self._path(path)} with something that is not "
                "JSON; is the base URL right?", crm=self.crm) from exc

    def pages(self, path: str, follow: Callable[[Any], str | None], *,
              params: Mapping[str, Any] | None = None, most: int = 1000) -> Iterator[Any]:
        """The answers of a paged GET, first to last: `follow` reads an answer
        and gives the address of the next page (the query included), or None.
        A 204 ends the paging too; `most` caps the number of pages."""
        where: str | None = path
        for _ in range(most):
            if where is None:
                return
            body = self.json("GET", where, params=params)
            if body is None:
                return
            yield body
            where, params = follow(body), None

    def offset_pages(self, path: str, key: str, *, size: int = 100, start: str = "offset",
                     params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """Every page of a catalogue paged by `limit` and an offset (`start`):
        pages of `size` rows under `key` until one comes back short."""
        offset = 0
        while True:
            body = self.json("GET", path, params={**(params or {}), "limit": size, start: offset})
            yield body or {}
            rows = len((body or {}).get(key) or ())
            offset += rows
            if rows < size:
                return

    def error_for(self, response: requests.Response, method: str, path: str) -> CrmError:
        special = self.classify(response) if self.classify is not None else None
        if special is None and self.errors is not None:
            special = self.errors.classify(response, self.crm, self.secrets)
        if special is not None:
            return special
        where = f"{method} {self._path(path)}"
        reason = crm_reason(response, self.secrets)
        log.info("%s answered %s to %s: %s", self.crm, response.status_code, where, reason)
        return self._by_status(response, where, reason)

    def _by_status(self, response: requests.Response, where: str, reason: str) -> CrmError:
        status = response.status_code
        if status == 429:
            return CrmRateLimited(f"{self.crm} is rate limiting the portal.", crm=self.crm,
                                  retry_after=rate_limit_wait(response))
        if status in (401, 403):
            return self._refused_access(status, where, reason)
        if status == 404:
            return CrmNotFound(f"{self.crm}: not found ({where}).", crm=self.crm)
        if status >= 500 or status == 408:
            return CrmUnavailable(f"{self.crm} answered {status} to {where}.", crm=self.crm)
        return CrmValidationError(
            f"{self.crm} refused {where}: {reason}", crm=self.crm, reason=reason
        )

    def _refused_access(self, status: int, where: str, reason: str) -> CrmAuthError:
        if status == 401:
            hint = f" Check {self.credentials_hint}." if self.credentials_hint else ""
            return CrmAuthError(f"{self.crm} refused the credentials for {where}: {reason}.{hint}",
                                crm=self.crm)
        hint = self.permissions_hint or self.credentials_hint
        hint = f" Check {hint}." if hint else ""
        return CrmAuthError(f"{self.crm} denied permission for {where}: {reason}.{hint}",
                            crm=self.crm)

    def _path(self, path: str) -> str:
        return redact(path.split("?", 1)[0], self.secrets)


def connection_problem(exc: requests.ConnectionError) -> str:
    """Say in plain words what went wrong, without the URL (it may hold secrets)."""
    text = str(exc)
    if "Name or service not known" in text or "nodename nor servname" in text \
            or "getaddrinfo failed" in text or "Temporary failure in name resolution" in text:
        return "the host name does not resolve (DNS)"
    if "Connection refused" in text:
        return "the connection was refused"
    if "reset" in text.lower() or "aborted" in text.lower() or "RemoteDisconnected" in text:
        return "the connection was reset"
    if "SSL" in text or "certificate" in text:
        return "the TLS handshake failed"
    return type(exc).__name__


# --- helpers the adapters share ----------------------------------------------


def timeouts(options: Mapping[str, Any]) -> tuple[float, float]:
    """(connect, read) timeouts in seconds from a `[crm.NAME]` block."""
    return float(options.get("connect_timeout", 3.05)), float(options.get("read_timeout", 10.0))


def client_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Timeouts from a `[crm.NAME]` block (`connect_timeout`, `read_timeout`, seconds),
    and the shared outbound limiter that portal.crm.build_adapters puts in the options."""
    connect, read = timeouts(options)
    return {"connect_timeout": connect, "read_timeout": read, "limiter": options.get("limiter")}


def choice_option(name: str, options: Mapping[str, Any], key: str, choices: Sequence[str]) -> str:
    """The option `key` of `[crm.NAME]`, one of `choices` (the first when it is not set)."""
    value = str(options.get(key, choices[0]))
    if value not in choices:
        raise CrmConfigError(f"crm.{name}.{key} must be one of {', '.join(choices)}.", crm=name)
    return value


def base_url_option(adapter_kind: str, name: str, options: Mapping[str, Any],
                    strip_suffix: str = "", default: str = "") -> str:
    """The CRM's base URL from the `base_url` option (else `default`), without
    a trailing API suffix."""
    url = str(options.get("base_url") or default).strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise CrmConfigError(
            f"The {adapter_kind} CRM '{name}' needs base_url = \"https://...\" in [crm.{name}].",
            crm=name)
    if strip_suffix and url.endswith(strip_suffix):
        url = url[: -len(strip_suffix)]
    return url
