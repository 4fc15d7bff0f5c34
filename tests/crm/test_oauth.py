"""The OAuth2 token layer (portal/crm/oauth.py) against a fake token endpoint
over real HTTP: obtaining, refreshing before expiry, surviving a restart,
one refresh for many workers, a revoked refresh token, and a refused token."""

from __future__ import annotations

import json
import logging
import multiprocessing
import stat
import threading
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from flask import Flask, Response, jsonify, request
from joserfc.jwk import RSAKey

from portal.commands import init_app as register_commands
from portal.config import load_config
from portal.crm import build_adapter
from portal.crm.base import CrmAuthError, CrmRateLimited, CrmUnavailable
from portal.crm.http import CrmHttp
from portal.crm.oauth import BearerAuth, OAuthClient, TokenManager, jwt_assertion
from tests.fakes import hubspot
from tests.fakes.server import FakeServer
from tests.fakes.tokens import FakeTokens
from tests.support.config import demo_config


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake():
    tokens = FakeTokens(lifetime=1800)
    app = Flask("fake_oauth")

    @app.post("/token")
    def token() -> Response:
        return tokens.answer(request.form)

    @app.get("/api/me")
    def me() -> Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not tokens.valid(token):
            response = jsonify({"message": "INVALID_SESSION_ID"})
            response.status_code = 401
            return response
        return jsonify({"ok": True})

    server = FakeServer(app).start()
    server.tokens = tokens
    yield server
    server.stop()


def client(server, **overrides) -> OAuthClient:
    options = {"crm": "main", "kind": "testcrm", "token_url": f"{server.url}/token",
               "client_id": "client-id", "client_secret": "client-secret",
               "bootstrap_refresh_token": "refresh-1", **overrides}
    return OAuthClient(**options)


def token_calls(server) -> int:
    return len(server.calls_to("POST", "/token"))


def test_a_token_is_obtained_once_and_kept_private_on_disk(fake, tmp_path):
    tokens = TokenManager(client(fake), tmp_path)
    first = tokens.access_token()
    assert tokens.access_token() == first
    assert token_calls(fake) == 1
    stored = tmp_path / "oauth" / "main.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    assert json.loads(stored.read_text())["access_token"] == first


def test_a_restart_reuses_the_stored_token(fake, tmp_path):
    first = TokenManager(client(fake), tmp_path).access_token()
    after_restart = TokenManager(client(fake), tmp_path)
    assert after_restart.access_token() == first
    assert token_calls(fake) == 1


def test_the_token_is_refreshed_before_it_expires(fake, tmp_path):
    clock = Clock()
    tokens = TokenManager(client(fake, leeway=60), tmp_path, clock=clock)
    first = tokens.access_token()
    clock.now += 1800 - 61  # still valid for 61 s: kept
    assert tokens.access_token() == first
    clock.now += 2  # 59 s left, inside the leeway: refreshed before the CRM refuses it
    second = tokens.access_token()
    assert second != first
    assert token_calls(fake) == 2
    assert fake.tokens.grants_seen == ["refresh_token", "refresh_token"]


def test_many_workers_refresh_once(fake, tmp_path):
    fake.faults.latency = 0.2  # a slow token endpoint widens the window for a stampede
    workers = [TokenManager(client(fake), tmp_path) for _ in range(6)]
    seen: list[str] = []
    barrier = threading.Barrier(len(workers))

    def work(tokens: TokenManager) -> None:
        barrier.wait()
        seen.append(tokens.access_token())

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert token_calls(fake) == 1
    assert len(set(seen)) == 1


def _worker(url: str, state_dir: str, out) -> None:
    tokens = TokenManager(OAuthClient(crm="main", kind="testcrm", token_url=f"{url}/token",
                                      client_id="client-id", client_secret="client-secret",
                                      bootstrap_refresh_token="refresh-1"), Path(state_dir))
    out.put(tokens.access_token())


def test_many_processes_refresh_once(fake, tmp_path):
    fake.faults.latency = 0.2
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    processes = [context.Process(target=_worker, args=(fake.url, str(tmp_path), out))
                 for _ in range(3)]
    for process in processes:
        process.start()
    seen = {out.get(timeout=10) for _ in processes}
    for process in processes:
        process.join(timeout=10)
    assert token_calls(fake) == 1
    assert len(seen) == 1


def test_a_revoked_refresh_token_is_a_clear_permanent_error(fake, tmp_path):
    tokens = TokenManager(client(fake), tmp_path)
    fake.tokens.revoke_all_refresh_tokens()
    with pytest.raises(CrmAuthError) as caught:
        tokens.access_token()
    assert "the refresh token was revoked: run `portal crm authorize main`" in str(caught.value).lower()
    assert not caught.value.transient
    # Later requests do not knock on the token endpoint again, even after a restart.
    with pytest.raises(CrmAuthError, match="revoked"):
        TokenManager(client(fake), tmp_path).access_token()
    assert token_calls(fake) == 1


def test_zoho_style_errors_in_a_200_answer_are_read_as_errors(fake, tmp_path):
    fake.tokens.error_status = 200  # Zoho answers {"error": "invalid_code"} with 200
    fake.tokens.revoke_all_refresh_tokens()
    with pytest.raises(CrmAuthError, match="revoked"):
        TokenManager(client(fake), tmp_path).access_token()


def test_no_refresh_token_says_to_authorize(fake, tmp_path):
    with pytest.raises(CrmAuthError, match="run `portal crm authorize main`"):
        TokenManager(client(fake, bootstrap_refresh_token=""), tmp_path).access_token()
    assert token_calls(fake) == 0


def test_a_wrong_client_secret_names_the_setting(fake, tmp_path):
    with pytest.raises(CrmAuthError, match="PORTAL_CRM_MAIN_CLIENT_SECRET") as caught:
        TokenManager(client(fake, client_secret="wrong"), tmp_path).access_token()
    assert "wrong" not in str(caught.value)


def test_token_endpoint_trouble_is_transient(fake, tmp_path):
    tokens = TokenManager(client(fake), tmp_path)
    fake.faults.fail_next, fake.faults.fail_status = 1, 503
    with pytest.raises(CrmUnavailable):
        tokens.access_token()
    fake.faults.rate_limit_next = 1
    with pytest.raises(CrmRateLimited) as caught:
        tokens.access_token()
    assert caught.value.retry_after == 1.0
    fake.go_down()
    with pytest.raises(CrmUnavailable, match="connection was refused"):
        tokens.access_token()


def test_a_refused_token_is_refreshed_and_the_request_sent_again(fake, tmp_path):
    tokens = TokenManager(client(fake), tmp_path)
    http = CrmHttp("main", fake.url, auth=BearerAuth(tokens))
    assert http.json("GET", "/api/me") == {"ok": True}
    fake.tokens.expire_all()  # the CRM ended the session early
    assert http.json("GET", "/api/me") == {"ok": True}
    assert token_calls(fake) == 2
    assert len(fake.calls_to("GET", "/api/me")) == 3


def test_a_token_refused_twice_is_an_auth_error_not_a_loop(fake, tmp_path):
    tokens = TokenManager(client(fake), tmp_path)
    http = CrmHttp("main", fake.url, auth=BearerAuth(tokens), credentials_hint="the OAuth app")
    fake.tokens.server_lifetime = -1  # every token is dead on arrival
    with pytest.raises(CrmAuthError, match="the OAuth app"):
        http.json("GET", "/api/me")
    assert len(fake.calls_to("GET", "/api/me")) == 2


def test_client_credentials_grant(fake, tmp_path):
    tokens = TokenManager(client(fake, grant="client_credentials", bootstrap_refresh_token=""),
                          tmp_path)
    assert tokens.access_token()
    assert fake.tokens.grants_seen == ["client_credentials"]


def test_jwt_bearer_grant_signs_an_assertion(fake, tmp_path):
    key = RSAKey.generate_key(2048)
    fake.tokens.jwt_key = RSAKey.import_key(key.as_pem(private=False))
    fake.tokens.jwt_subject = "portal@example.org"
    pem = key.as_pem(private=True).decode()

    def assertion() -> str:
        return jwt_assertion(issuer="client-id", subject="portal@example.org",
                             audience=fake.url, private_key_pem=pem)

    tokens = TokenManager(client(fake, grant="jwt_bearer", assertion=assertion,
                                 bootstrap_refresh_token=""), tmp_path)
    assert tokens.access_token()
    assert fake.tokens.grants_seen == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]


def test_tokens_never_reach_the_log(fake, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    tokens = TokenManager(client(fake), tmp_path)
    http = CrmHttp("main", fake.url, auth=BearerAuth(tokens))
    http.json("GET", "/api/me")
    fake.tokens.expire_all()
    http.json("GET", "/api/me")
    fake.tokens.revoke_all_refresh_tokens()
    tokens.invalidate(tokens.access_token())
    with pytest.raises(CrmAuthError) as caught:
        tokens.access_token()
    shown = caplog.text + str(caught.value) + repr(tokens)
    for secret in ("refresh-1", "client-secret", "at-"):
        assert secret not in shown


# --- flask crm authorize ---------------------------------------------------------------


@pytest.fixture
def hubspot_cli(tmp_path, monkeypatch):
    server, state = hubspot.start()
    state.tokens.refresh_tokens.clear()
    path = demo_config(tmp_path, append=f"""
[crm.hs]
type = "hubspot"
auth = "oauth"
base_url = "{server.url}"
client_id = "client-id"
redirect_uri = "https://portal.example.org/oauth/callback"
""")
    monkeypatch.setenv("PORTAL_CRM_HS_CLIENT_SECRET", "client-secret")
    monkeypatch.delenv("PORTAL_CRM_HS_REFRESH_TOKEN", raising=False)
    app = Flask("cli_test", instance_path=str(tmp_path / "instance"))
    app.config["PORTAL"] = load_config(path)
    register_commands(app)
    yield app, server, state
    server.stop()


def test_authorize_prints_the_consent_url_and_stores_the_tokens(hubspot_cli, tmp_path):
    app, server, state = hubspot_cli
    result = app.test_cli_runner().invoke(
        args=["crm", "authorize", "hs"],
        input="https://portal.example.org/oauth/callback?code=good-code\n")
    assert result.exit_code == 0, result.output
    assert "https://app.hubspot.com/oauth/authorize?response_type=code&client_id=client-id" \
        in result.output
    assert "redirect_uri=https%3A%2F%2Fportal.example.org%2Foauth%2Fcallback" in result.output
    assert "scope=crm.objects.contacts.read+crm.objects.contacts.write" in result.output
    stored = tmp_path / "instance" / "oauth" / "hs.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    refresh = json.loads(stored.read_text())["refresh_token"]
    assert refresh in state.tokens.refresh_tokens
    assert refresh not in result.output and "at-" not in result.output
    trade = parse_qs(server.calls_to("POST", "/oauth/v1/token")[0].body.decode())
    assert trade["grant_type"] == ["authorization_code"] and trade["code"] == ["good-code"]
    assert trade["redirect_uri"] == ["https://portal.example.org/oauth/callback"]
    # The adapter now works from the stored tokens.
    state.add_contact("jane@example.org")
    adapter = build_adapter("hs", app.config["PORTAL"].crms["hs"], tmp_path / "instance")
    assert adapter.find_contact("jane@example.org") is not None


def test_authorize_refuses_an_answer_from_another_attempt(hubspot_cli):
    app, _, state = hubspot_cli
    result = app.test_cli_runner().invoke(args=[
        "crm", "authorize", "hs", "--response",
        "https://portal.example.org/oauth/callback?code=good-code&state=not-this-one"])
    assert result.exit_code != 0
    assert "state differs" in result.output
    assert "good-code" in state.tokens.codes  # never traded


def test_authorize_reports_a_refused_code(hubspot_cli):
    app, _, _ = hubspot_cli
    result = app.test_cli_runner().invoke(args=["crm", "authorize", "hs", "--response", "bad-code"])
    assert result.exit_code != 0
    assert "refused the authorization code" in result.output


def test_a_new_refresh_token_in_the_environment_replaces_a_revoked_one(fake, tmp_path):
    TokenManager(client(fake), tmp_path).access_token()
    fake.tokens.revoke_all_refresh_tokens()
    tokens = TokenManager(client(fake), tmp_path)
    tokens.invalidate(tokens.access_token())
    with pytest.raises(CrmAuthError, match="revoked"):
        tokens.access_token()
    fake.tokens.refresh_tokens.add("refresh-2")
    assert TokenManager(client(fake, bootstrap_refresh_token="refresh-2"), tmp_path).access_token()
    stored = json.loads((tmp_path / "oauth" / "main.json").read_text())
    assert stored["refresh_token"] == "refresh-2" and "revoked" not in stored
