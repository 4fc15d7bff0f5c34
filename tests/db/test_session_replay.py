"""A session cookie is only a key to a record on the server: once the record
is gone (sign-out) or past its lifetime, a copy of the cookie opens nothing."""

from __future__ import annotations

import time

import requests

from tests.db.conftest import sign_in_over_http, sign_out_over_http
from tests.support.live import serve


def replay(base: str, cookie: str) -> requests.Response:
    """The profile page asked with a stolen cookie, whatever its Expires said."""
    return requests.get(base + "/profile/", headers={"Cookie": f"session={cookie}"},
                        allow_redirects=False)


def test_a_cookie_copied_before_sign_out_opens_nothing_afterwards(db_app, smtp):
    with serve(db_app) as base:
        browser = sign_in_over_http(base, smtp)
        stolen = browser.cookies["session"]
        assert replay(base, stolen).status_code == 200  # the copy works while signed in
        sign_out_over_http(base, browser)
        assert replay(base, stolen).status_code == 302


def test_a_cookie_replayed_after_the_absolute_lifetime_is_refused(backend, make_app, smtp,
                                                                  monkeypatch):
    # A day of idle time, so only the absolute lifetime (12 hours) can end it.
    app = make_app(replace={"session_idle_minutes = 30": "session_idle_minutes = 1440"})
    with serve(app) as base:
        browser = sign_in_over_http(base, smtp)
        stolen = browser.cookies["session"]
        start = time.time()
        for hours in (4, 8, 11.9):  # kept busy all along
            monkeypatch.setattr(time, "time", lambda h=hours: start + h * 3600)
            assert replay(base, stolen).status_code == 200
        monkeypatch.setattr(time, "time", lambda: start + 12.1 * 3600)
        assert replay(base, stolen).status_code == 302
