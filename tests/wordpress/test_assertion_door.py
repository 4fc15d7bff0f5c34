"""The WordPress assertion door over real HTTP: a good assertion signs the
member in with no click, and every forged, stale or misdirected one is
refused with the sign-in page saying so."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import OctKey

from portal.config import ConfigError
from portal.config.wordpress import ASSERTION_SECRET_ENV as SECRET_ENV
from tests.support.live import serve
from tests.support.smtp import free_port
from tests.wordpress.assertions import SECRET, SITE, claims_for, door_section, sign, unsigned


@pytest.fixture
def door(make_app, monkeypatch):
    """Start the portal with the door; `door()` returns its address."""
    monkeypatch.setenv(SECRET_ENV, SECRET)
    running = []

    def start(section: str = door_section()) -> str:
        server = serve(make_app(append=section))
        running.append(server)
        return server.__enter__()

    yield start
    for server in running:
        server.__exit__(None, None, None)


def enter(portal: str, token: str, browser: requests.Session | None = None) -> requests.Response:
    return (browser or requests.Session()).post(portal + "/wordpress/enter?lang=en",
                                                data={"assertion": token}, timeout=10)


def test_member_lands_on_their_preferences_signed_in(door):
    portal = door()
    browser = requests.Session()
    answer = enter(portal, sign(claims_for(portal)), browser)
    assert answer.status_code == 200
    assert answer.url == portal + "/profile/"
    assert 'value="demo@example.org"' in answer.text or "demo@example.org" in answer.text
    assert 'lang="en"' in answer.text


def refused(answer: requests.Response) -> str:
    """The reason the sign-in page gives, which must be the normal sign-in page."""
    assert 'action="/sign-in"' in answer.text
    match = re.search(r'role="alert" data-reason="([a-z_]+)"', answer.text)
    assert match, answer.text[:2000]
    return match.group(1)


def test_replayed_assertion_is_refused(door):
    portal = door()
    token = sign(claims_for(portal))
    assert enter(portal, token).url == portal + "/profile/"
    again = enter(portal, token)
    assert again.status_code == 400
    assert refused(again) == "replayed"
    assert "expired" in again.text


def test_expired_assertion_is_refused(door):
    portal = door()
    answer = enter(portal, sign(claims_for(portal, issued=time.time() - 120)))
    assert answer.status_code == 400
    assert refused(answer) == "expired"


def test_a_clock_a_little_apart_is_tolerated(door):
    portal = door()
    assert enter(portal, sign(claims_for(portal, issued=time.time() - 80))).url.endswith("/profile/")
    assert enter(portal, sign(claims_for(portal, issued=time.time() + 20))).url.endswith("/profile/")


def test_long_lived_assertion_is_refused(door):
    portal = door()
    assert enter(portal, sign(claims_for(portal, lifetime=86400))).status_code == 400


@pytest.mark.parametrize("forge", ["wrong key", "alg none", "other alg", "tampered", "garbage"])
def test_forged_assertion_is_refused(door, forge):
    portal = door()
    claims = claims_for(portal)
    if forge == "wrong key":
        token = sign(claims, secret="another-secret-of-forty-characters-long!")
    elif forge == "alg none":
        token = unsigned(claims)
    elif forge == "other alg":  # signed with the right secret, by an algorithm we do not accept
        token = jwt.encode({"alg": "HS512"}, claims, OctKey.import_key(SECRET), algorithms=["HS512"])
    elif forge == "tampered":
        header, _payload, signature = sign(claims).split(".")
        token = ".".join([header, unsigned(claims_for(portal, email="jon@example.org"))
                          .split(".")[1], signature])
    else:
        token = "not-a-jwt"
    answer = enter(portal, token)
    assert answer.status_code == 400
    assert refused(answer) in ("signature", "malformed")
    assert "could not confirm" in answer.text


def test_assertion_for_another_audience_is_refused(door):
    portal = door()
    answer = enter(portal, sign(claims_for("https://another-portal.example.net")))
    assert answer.status_code == 400
    assert refused(answer) == "audience"


def test_assertion_from_another_site_is_refused(door):
    portal = door()
    answer = enter(portal, sign(claims_for(portal, issuer="https://evil.example.net")))
    assert answer.status_code == 400
    assert refused(answer) == "issuer"


def test_role_not_allowed_is_refused(door):
    portal = door(door_section(roles='["subscriber", "member"]'))
    answer = enter(portal, sign(claims_for(portal, roles=("editor",))))
    assert answer.status_code == 403
    assert refused(answer) == "role"
    assert enter(portal, sign(claims_for(portal, roles=("member",)))).url.endswith("/profile/")


def test_refusal_is_told_in_the_members_language(door):
    portal = door()
    answer = requests.post(portal + "/wordpress/enter?lang=eu", timeout=10,
                           data={"assertion": sign(claims_for(portal, issued=time.time() - 300))})
    assert 'lang="eu"' in answer.text
    assert "iraungi" in answer.text  # "has expired", in Basque


def test_check_assertion_cannot_sign_anyone_in(door):
    portal = door()
    answer = enter(portal, sign(claims_for(portal, purpose="check")))
    assert answer.status_code == 400


def test_member_without_contact(door):
    portal = door()
    answer = enter(portal, sign(claims_for(portal, email="miren@example.org")))
    assert answer.status_code == 404
    assert "miren@example.org" in answer.text


def test_member_without_contact_gets_one_when_configured(door):
    portal = door(door_section(extra="create_contacts = true\n"))
    answer = enter(portal, sign(claims_for(portal, email="miren@example.org")))
    assert answer.url == portal + "/profile/"
    assert "miren@example.org" in answer.text


def test_without_the_secret_every_assertion_is_refused(door, monkeypatch):
    monkeypatch.delenv(SECRET_ENV)
    portal = door()
    answer = enter(portal, sign(claims_for(portal)))
    assert answer.status_code == 503
    assert requests.get(portal + "/wordpress/health", timeout=10).json()["secret_set"] is False


def test_without_assertion_setting_the_door_is_closed(app):
    with serve(app) as portal:
        assert enter(portal, sign(claims_for(portal))).status_code == 404
        health = requests.get(portal + "/wordpress/health", timeout=10).json()
    assert health["assertion"] is False


def test_health_tells_the_plugin_what_it_needs(door):
    portal = door(door_section() + '[embed]\nframe_ancestors = ["https://www.example.org"]\n')
    health = requests.get(portal + "/wordpress/health",
                          params={"origin": "https://www.example.org"}, timeout=10).json()
    assert health["service"] == "preference-portal"
    assert abs(health["time"] - time.time()) < 5
    assert health["origin_allowed"] is True
    assert health["assertion"] is True and health["secret_set"] is True
    assert health["site_url"] == SITE
    assert health["audience"] == portal
    other = requests.get(portal + "/wordpress/health", params={"origin": "https://other.example"},
                         timeout=10).json()
    assert other["origin_allowed"] is False


def test_health_check_of_the_secret_signs_nobody_in(door):
    portal = door()
    browser = requests.Session()

    def check(token: str) -> str:
        answer = browser.post(portal + "/wordpress/health", data={"assertion": token}, timeout=10)
        return answer.json()["result"]

    assert check(sign(claims_for(portal, purpose="check"))) == "ok"
    assert browser.get(portal + "/profile/", allow_redirects=False, timeout=10).status_code == 302
    assert check(sign(claims_for(portal, purpose="check"),
                      secret="another-secret-of-forty-characters-long!")) == "signature"
    assert check(sign(claims_for(portal, purpose="check", issuer="http://localhost"))) == "issuer"
    assert check(sign(claims_for(portal))) == "malformed"  # a member's, not a check's


def test_no_log_line_of_ours_prints_the_assertion(door, caplog):
    portal = door()
    caplog.set_level(logging.DEBUG)
    tokens = [sign(claims_for(portal)), sign(claims_for(portal, issued=time.time() - 500)),
              sign(claims_for(portal, roles=("editor",))), "x" * 9000]
    for token in tokens:
        enter(portal, token)
    enter(portal, tokens[0])
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/wordpress/enter" in logged  # werkzeug's access log is among them
    for token in tokens:
        assert token not in logged
        assert token.split(".")[1 if "." in token else 0][:40] not in logged


def test_gunicorn_access_log_has_the_path_not_the_assertion(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    port = free_port()
    portal = f"http://127.0.0.1:{port}"
    make_app(append=door_section())  # writes tmp_path/portal.toml and seeds the CRM
    log_file = tmp_path / "gunicorn.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--access-logfile", str(log_file), "--error-logfile", str(log_file), "--log-level",
         "debug", "wsgi:app"],
        env={**os.environ, "PORTAL_CONFIG": str(tmp_path / "portal.toml")})
    try:
        _wait_for(portal)
        token = sign(claims_for(portal))
        assert enter(portal, token).url == portal + "/profile/"
        assert enter(portal, token).status_code == 400
    finally:
        server.terminate()
        server.wait(10)
    logged = log_file.read_text()
    assert "POST /wordpress/enter" in logged
    assert token not in logged and token.split(".")[1][:40] not in logged


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            requests.get(url + "/wordpress/health", timeout=5)
            return
        except requests.RequestException:
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)


@pytest.mark.parametrize("section, where", [
    ('[wordpress]\nassertion = true\n', "wordpress.site_url"),
    ('[wordpress]\nassertion = true\nsite_url = "www.example.org"\n', "wordpress.site_url"),
    (f'[wordpress]\nassertion = true\nsite_url = "{SITE}"\nassertion_roles = "subscriber"\n',
     "wordpress.assertion_roles"),
    (f'[wordpress]\nsite_url = "{SITE}"\n', "wordpress.site_url"),
    ('[wordpress]\nassertion = "yes"\n', "wordpress.assertion"),
])
def test_incomplete_door_settings_are_refused_by_line(make_app, section, where):
    with pytest.raises(ConfigError) as refused:
        make_app(append=section)
    assert any(where in problem for problem in refused.value.problems), refused.value.problems


def test_assertion_alongside_openid_connect(make_app, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    app = make_app(append='[wordpress]\nkind = "oidc"\nclient_id = "x"\n'
                   'discovery_url = "https://www.example.org/.well-known/openid-configuration"\n'
                   f'assertion = true\nsite_url = "{SITE}"\n')
    page = app.test_client().get("/").get_data(as_text=True)
    assert 'href="/wordpress/login"' in page  # the OAuth button stays


def test_assertion_only_shows_no_login_button(make_app, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    client = make_app(append=door_section()).test_client()
    assert "/wordpress/login" not in client.get("/").get_data(as_text=True)
    assert client.get("/wordpress/login").status_code == 404
