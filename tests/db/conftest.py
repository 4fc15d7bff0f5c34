"""The portal's own database: every test here runs on SQLite (the default
file under the instance folder) and on a real PostgreSQL."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import csrf_token
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401 - fixtures
from tests.support.smtp import Inbox, link_in

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch) -> str:
    """The database the apps of this test use: SQLite's default file, or a
    fresh PostgreSQL database named by PORTAL_DATABASE_URL."""
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    if request.param == "postgresql":
        monkeypatch.setenv("PORTAL_DATABASE_URL", request.getfixturevalue("postgres_url"))
    return request.param


@pytest.fixture
def db_app(backend, make_app):
    return make_app()


def sign_in_over_http(base: str, smtp: Inbox, email: str = "demo@example.org",
                      browser: requests.Session | None = None) -> requests.Session:
    """A browser that asks for a link, opens it and presses the button."""
    browser = browser or requests.Session()
    before = len(smtp.sent_to(email))
    start = browser.get(base + "/")
    asked = browser.post(base + "/sign-in", data={"email": email,
                                                  "csrf_token": csrf_token(start.text)})
    assert asked.status_code == 200, asked.text[:300]
    link = link_in(smtp.wait_for(email, count=before + 1)[-1])
    opened = browser.get(link)
    signed = browser.post(link, data={"csrf_token": csrf_token(opened.text)})
    assert signed.url == base + "/profile/", signed.text[:300]
    return browser


def sign_out_over_http(base: str, browser: requests.Session) -> None:
    page = browser.get(base + "/profile/")
    answer = browser.post(base + "/sign-out", data={"csrf_token": csrf_token(page.text)})
    assert answer.url == base + "/", answer.url
