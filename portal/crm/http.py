"""The one HTTP client every remote CRM adapter uses.

It owns what adapters share: one pooled `requests` session per CRM,
timeouts, a User-Agent, the outbound rate limiter, and the mapping of HTTP
outcomes to the contract's errors. Adapters only say which path to call and
how to read the answer.
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import requests

from portal import __version__
from portal.crm.base import (
    CrmAuthError,
    CrmError,
    CrmNotFound,
    CrmRateLimited,
    CrmUnavailable,
    CrmValidationError,
)

log = logging.getLogger(__name__)

USER_AGENT = f"contact-preference-portal/{__version__} (+python-requests)"
SECRET_QUERY = re.compile(r"(?i)((?:api[_-]?key|hapikey|token|access_token|secret)=)[^&\s]+")


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
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


def redact(text: str) -> str:
    return SECRET_QUERY.sub(r"\1***", text)


def crm_reason(response: requests.Response) -> str:
    """The CRM's own words about a refusal, whatever shape its error body has."""
    try:
        body = response.json()
    except ValueError:
        return redact(response.text[:300])
    return redact(_reason_from(body))[:500]


def _reason_from(body: Any) -> str:
    if isinstance(body, list):
        return "; ".join(_reason_from(item) for item in body[:5])
    if isinstance(body, dict):
        for key in ("message", "detail", "error_description", "title", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key]
        for key in ("errors", "error", "data", "details"):
            if body.get(key):
                return _reason_from(body[key])
    return str(body)[:300]


class CrmHttp:
    """A pooled session for one CRM with its base URL, auth and error mapping."""

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
        credentials_hint: str = "",
    ) -> None:
        self.crm = crm
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.limiter: OutboundLimiter = limiter or NoLimit()
        self.classify = classify
        self.credentials_hint = credentials_hint
        self.calls = 0  # requests sent, for tests and benchmarks
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        if headers:
            self.session.headers.update(headers)
        self.session.auth = auth

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
        self.calls += 1
        try:
            response = self.session.request(method, self.url(path), **kwargs)
        except requests.Timeout as exc:
            raise CrmUnavailable(f"{self.crm} did not answer in time ({method} {self._path(path)}).",
                                 crm=self.crm) from exc
        except requests.ConnectionError as exc:
            raise CrmUnavailable(f"Could not connect to {self.crm}: {type(exc).__name__}.",
                                 crm=self.crm) from exc
        if 200 <= response.status_code < 300 or response.status_code in set(ok):
            return response
        raise self.error_for(response, method, path)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def error_for(self, response: requests.Response, method: str, path: str) -> CrmError:
        if self.classify is not None:
            special = self.classify(response)
            if special is not None:
                return special
        status = response.status_code
        where = f"{method} {self._path(path)}"
        reason = crm_reason(response)
        log.info("%s answered %s to %s: %s", self.crm, status, where, reason)
        if status == 429:
            return CrmRateLimited(
                f"{self.crm} is rate limiting the portal.",
                crm=self.crm,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status in (401, 403):
            hint = f" Check {self.credentials_hint}." if self.credentials_hint else ""
            verb = "refused the credentials" if status == 401 else "denied permission"
            return CrmAuthError(f"{self.crm} {verb} for {where}: {reason}.{hint}", crm=self.crm)
        if status == 404:
            return CrmNotFound(f"{self.crm}: not found ({where}).", crm=self.crm)
        if status >= 500 or status in (408,):
            return CrmUnavailable(f"{self.crm} answered {status} to {where}.", crm=self.crm)
        return CrmValidationError(
            f"{self.crm} refused {where}: {reason}", crm=self.crm, reason=reason
        )

    @staticmethod
    def _path(path: str) -> str:
        return redact(path.split("?", 1)[0])
