"""Asking for a sign-in link: same answer for every address, bad input
handled, requests rate-limited, links tamper-proof, time-limited, single use."""

from __future__ import annotations

import time

import pytest

from tests.conftest import csrf_token, request_link, sign_in
from tests.support.config import FIVE_LINKS_AN_HOUR
from tests.support.smtp import link_in


def ask(client, email: str, **headers):
    page = client.get("/", headers=headers)
    return client.post("/sign-in", data={"email": email, "csrf_token": csrf_token(page.data)},
                       headers=headers, follow_redirects=True)


def test_known_and_unknown_addresses_get_the_same_page(client, smtp):
    known = ask(client, "demo@example.org")
    unknown = ask(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.data.replace(b"demo@example.org", b"X") == \
        unknown.data.replace(b"nobody@example.org", b"X")
    smtp.wait_for("demo@example.org")
    time.sleep(0.3)  # give a (wrong) email to the unknown address time to arrive
    assert smtp.sent_to("nobody@example.org") == []


def test_malformed_email_is_explained_and_kept(client, smtp):
    answer = ask(client, "not-an-email")
    assert answer.status_code == 400
    page = answer.data.decode()
    assert 'value="not-an-email"' in page
    assert 'aria-invalid="true"' in page
    assert 'href="#email"' in page  # the error summary links to the field


def test_huge_email_is_refused_without_error_page(client):
    answer = ask(client, "a" * 5000 + "@example.org")
    assert answer.status_code == 400


def test_missing_csrf_token_is_refused(client, smtp):
    client.get("/?lang=eu")
    answer = client.post("/sign-in", data={"email": "demo@example.org"})
    assert answer.status_code == 400
    page = answer.data.decode()
    assert '<html lang="eu">' in page and "Ez da ezer aldatu." in page  # "Nothing was changed."
    time.sleep(0.2)
    assert smtp.sent_to("demo@example.org") == []


def test_sign_in_requests_are_limited_per_email(make_app, smtp):
    client = make_app(replace=FIVE_LINKS_AN_HOUR).test_client()
    statuses = [ask(client, "demo@example.org").status_code for _ in range(6)]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    # The refusal reads the same for an unknown address.
    for _ in range(5):
        ask(client, "ghost@example.org")
    refused_known = ask(client, "demo@example.org")
    refused_unknown = ask(client, "ghost@example.org")
    assert refused_unknown.status_code == 429
    assert refused_known.data.replace(b"demo@example.org", b"X") == \
        refused_unknown.data.replace(b"ghost@example.org", b"X")


def test_sign_in_requests_are_limited_per_client_address(make_app):
    app = make_app(replace={"link_requests_per_address_per_hour = 30":
                            "link_requests_per_address_per_hour = 3"})
    client = app.test_client()
    statuses = [ask(client, f"person{n}@example.org").status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_tampered_link_shows_a_clear_page_with_a_form(client, smtp):
    request_link(client, "demo@example.org")
    link = link_in(smtp.wait_for("demo@example.org")[0])
    path = "/" + link.split("/", 3)[3]
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    answer = client.get(tampered)
    assert answer.status_code == 400
    assert b'action="/sign-in"' in answer.data and b'name="email"' in answer.data


def test_expired_link_is_refused(client, smtp, monkeypatch):
    request_link(client, "demo@example.org")
    path = "/" + link_in(smtp.wait_for("demo@example.org")[0]).split("/", 3)[3]
    later = time.time() + 31 * 60  # links work for 30 minutes
    monkeypatch.setattr(time, "time", lambda: later)
    answer = client.get(path)
    assert answer.status_code == 410
    assert b'name="email"' in answer.data


def test_newer_link_replaces_older_one(client, smtp):
    request_link(client, "demo@example.org")
    first = link_in(smtp.wait_for("demo@example.org", 1)[0])
    request_link(client, "demo@example.org")
    second = link_in(smtp.wait_for("demo@example.org", 2)[1])
    assert first != second
    assert client.get("/" + first.split("/", 3)[3]).status_code == 410
    assert client.get("/" + second.split("/", 3)[3]).status_code == 200


def test_two_presses_make_one_session(app, smtp):
    first, second = app.test_client(), app.test_client()
    request_link(first, "demo@example.org")
    path = "/" + link_in(smtp.wait_for("demo@example.org")[0]).split("/", 3)[3]
    page_a, page_b = first.get(path), second.get(path)
    a = first.post(path, data={"csrf_token": csrf_token(page_a.data)})
    b = second.post(path, data={"csrf_token": csrf_token(page_b.data)})
    assert sorted([a.status_code, b.status_code]) == [302, 410]


def test_opening_a_link_changes_nothing(client, smtp):
    request_link(client, "demo@example.org")
    path = "/" + link_in(smtp.wait_for("demo@example.org")[0]).split("/", 3)[3]
    for _ in range(3):  # a mail scanner may fetch it several times
        assert client.get(path).status_code == 200
    assert client.get("/profile/").status_code == 302  # still signed out


def test_sign_out(client, smtp):
    sign_in(client, smtp)
    page = client.get("/profile/")
    client.post("/sign-out", data={"csrf_token": csrf_token(page.data)})
    assert client.get("/profile/").status_code == 302


def test_idle_session_expires(make_app, smtp, monkeypatch):
    app = make_app()
    client = app.test_client()
    sign_in(client, smtp)
    assert client.get("/profile/").status_code == 200
    later = time.time() + 31 * 60
    monkeypatch.setattr(time, "time", lambda: later)
    answer = client.get("/profile/", follow_redirects=True)
    assert answer.request.path == "/"
    assert b'role="status"' in answer.data  # "your session ended" is announced


@pytest.mark.parametrize("lang", ["es", "eu", "en"])
def test_sign_in_email_is_in_the_contacts_language(client, smtp, lang):
    page = client.get(f"/?lang={lang}")
    assert f'<html lang="{lang}">' in page.data.decode()
    client.post("/sign-in", data={"email": "demo@example.org", "csrf_token": csrf_token(page.data)})
    message = smtp.wait_for("demo@example.org")[0]
    assert message["Content-Language"] == lang
    html = message.get_body(("html",)).get_content()
    assert f'<html lang="{lang}">' in html
