"""The shared HTTP layer: error mapping, waits, secrets and the User-Agent,
against a small CRM-like app served over loopback."""

from __future__ import annotations

import logging
import time
from email.utils import formatdate

import pytest
import requests
from flask import Flask, jsonify, request

from portal import __version__
from portal.crm.base import (
    CrmAuthError,
    CrmNotFound,
    CrmRateLimited,
    CrmUnavailable,
    CrmValidationError,
)
from portal.crm.http import CrmHttp
from tests.fakes.server import FakeServer

TOKEN = "s3cret-token-value-42"


def echo_app() -> Flask:
    app = Flask("echo")

    @app.route("/status/<int:code>")
    def status(code: int):
        response = jsonify({"message": request.args.get("say", f"status {code}")})
        response.status_code = code
        for key, value in request.args.items():
            if key.startswith("h_"):
                response.headers[key[2:]] = value
        return response

    @app.route("/echo-token")
    def echo_token():  # a CRM that repeats the credential it was sent in its error
        return jsonify({"detail": f"Invalid token {request.headers.get('Api-Token')}"}), 401

    @app.route("/echo-basic")
    def echo_basic():
        auth = request.authorization
        return jsonify({"message": f"bad password {auth.password if auth else ''}"}), 422

    @app.route("/html")
    def html():
        return "<html>captive portal</html>"

    @app.route("/drf")
    def drf():
        return jsonify({"status": ['"x" is not a valid choice.']}), 400

    @app.route("/ua")
    def ua():
        return jsonify({"ua": request.headers.get("User-Agent")})

    return app


@pytest.fixture
def server():
    with FakeServer(echo_app()) as running:
        yield running


@pytest.fixture
def http(server):
    return CrmHttp("acme", server.url, headers={"Api-Token": TOKEN},
                   credentials_hint="PORTAL_CRM_ACME_API_TOKEN",
                   permissions_hint="the API user's role")


def test_user_agent_names_the_portal_and_its_version(http):
    assert http.json("GET", "ua")["ua"].startswith(f"contact-preference-portal/{__version__}")


def test_401_names_the_setting_and_403_the_permission(http):
    with pytest.raises(CrmAuthError, match="PORTAL_CRM_ACME_API_TOKEN"):
        http.json("GET", "status/401")
    with pytest.raises(CrmAuthError, match="the API user's role"):
        http.json("GET", "status/403")


def test_a_secret_echoed_by_the_crm_is_scrubbed_from_messages_and_logs(http, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CrmAuthError) as caught:
        http.json("GET", "echo-token")
    assert TOKEN not in str(caught.value)
    assert TOKEN not in caplog.text
    assert "***" in str(caught.value)


def test_a_secret_in_a_query_string_is_scrubbed(http):
    with pytest.raises(CrmNotFound) as caught:
        http.json("GET", f"status/404?api_key={TOKEN}")
    assert TOKEN not in str(caught.value)


def test_basic_auth_password_is_scrubbed(server, caplog):
    http = CrmHttp("acme", server.url, auth=requests.auth.HTTPBasicAuth("user", TOKEN))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CrmValidationError) as caught:
        http.json("GET", "echo-basic")
    assert TOKEN not in str(caught.value) and TOKEN not in caught.value.reason
    assert TOKEN not in caplog.text


def test_404_is_not_found_and_422_carries_the_crms_reason(http):
    with pytest.raises(CrmNotFound):
        http.json("GET", "status/404")
    with pytest.raises(CrmValidationError) as caught:
        http.json("GET", "status/422?say=Email+address+is+not+valid.")
    assert caught.value.reason == "Email address is not valid."
    assert not caught.value.transient


def test_a_drf_style_refusal_keeps_the_field_and_reason(http):
    with pytest.raises(CrmValidationError) as caught:
        http.json("GET", "drf")
    assert caught.value.reason == 'status: "x" is not a valid choice.'


@pytest.mark.parametrize(("headers", "expected"), [
    ("h_Retry-After=7", 7.0),
    ("h_RateLimit-Reset=12", 12.0),
    ("h_X-RateLimit-Reset=NOW+30", 30.0),  # an epoch time, filled in when the test runs
    ("", None),
])
def test_429_reports_the_wait_the_crm_asked_for(http, headers, expected):
    headers = headers.replace("NOW+30", str(int(time.time()) + 30))
    with pytest.raises(CrmRateLimited) as caught:
        http.json("GET", f"status/429?{headers}")
    assert caught.value.transient
    if expected is None:
        assert caught.value.retry_after is None
    else:
        assert caught.value.retry_after == pytest.approx(expected, abs=1.5)


def test_retry_after_as_an_http_date(http):
    when = formatdate(time.time() + 20, usegmt=True)
    with pytest.raises(CrmRateLimited) as caught:
        http.json("GET", "status/429", params={"h_Retry-After": when})
    assert caught.value.retry_after == pytest.approx(20, abs=1.5)


@pytest.mark.parametrize("code", [500, 502, 503, 504, 408])
def test_server_errors_and_timeouts_are_transient(http, code):
    with pytest.raises(CrmUnavailable) as caught:
        http.json("GET", f"status/{code}")
    assert caught.value.transient


def test_an_answer_that_is_not_json_is_unavailable_and_says_why(http):
    with pytest.raises(CrmUnavailable, match="base URL"):
        http.json("GET", "html")


def test_an_unresolvable_host_says_dns(monkeypatch):
    http = CrmHttp("acme", "http://crm.invalid", connect_timeout=1, read_timeout=1)
    with pytest.raises(CrmUnavailable, match=r"DNS|reach"):
        http.json("GET", "contacts")


def test_every_request_is_counted_and_goes_through_the_limiter(http):
    seen = []

    class Recorder:
        def acquire(self, crm: str) -> None:
            seen.append(crm)

    http.limiter = Recorder()
    http.json("GET", "ua")
    with pytest.raises(CrmNotFound):
        http.json("GET", "status/404")
    assert seen == ["acme", "acme"]
    assert http.calls == 2


def test_a_limiter_refusal_sends_nothing(http, server):
    class Full:
        def acquire(self, crm: str) -> None:
            raise CrmRateLimited("budget spent", crm=crm, retry_after=2)

    http.limiter = Full()
    with pytest.raises(CrmRateLimited):
        http.json("GET", "ua")
    assert server.calls == []
