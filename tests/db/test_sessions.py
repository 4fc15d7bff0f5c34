"""Server-side sessions: what the cookie and the record hold, when a record
is written, how sessions end, and what is left of them afterwards."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import select

from portal.auth.session import end_sessions_of
from portal.config import ConfigError, load_config
from portal.db import database
from portal.db.models import SessionRecord
from portal.delivery import delivery
from tests.db.conftest import sign_in_over_http, sign_out_over_http
from tests.support.config import demo_config
from tests.support.live import serve

EMAIL = "demo@example.org"


def records(app) -> list:
    with database(app).transaction() as db:
        return list(db.execute(select(SessionRecord)).all())


def demo_ref(app) -> str:
    return delivery(app).crm.find_contact(EMAIL).ref


def test_visitors_who_keep_nothing_leave_nothing(db_app):
    with serve(db_app) as base:
        for _ in range(5):
            answer = requests.get(base + "/profile/", allow_redirects=False)  # signed out: sent away
            assert answer.status_code == 302 and "Set-Cookie" not in answer.headers
            assert "Set-Cookie" not in requests.get(base + "/static/css/portal.css").headers
        assert records(db_app) == []
        browser = requests.Session()
        browser.get(base + "/")  # the form's CSRF token is worth keeping
        browser.get(base + "/?lang=eu")
        assert len(records(db_app)) == 1


def test_assets_neither_touch_the_session_nor_vary_on_it(db_app, smtp, monkeypatch):
    with serve(db_app) as base:
        browser = sign_in_over_http(base, smtp)
        [before] = records(db_app)
        start = time.time()
        monkeypatch.setattr(time, "time", lambda: start + 5 * 60)
        asset = browser.get(base + "/static/css/portal.css")
        assert asset.status_code == 200
        assert "Set-Cookie" not in asset.headers and "Cookie" not in asset.headers.get("Vary", "")
        assert records(db_app)[0].last_seen_at == before.last_seen_at
        page = browser.get(base + "/profile/")
        assert "Cookie" in page.headers["Vary"]
        assert records(db_app)[0].last_seen_at > before.last_seen_at  # a page is activity


def test_the_cookie_holds_a_random_id_and_the_record_only_its_hash(db_app, smtp):
    with serve(db_app) as base:
        browser = sign_in_over_http(base, smtp)
        cookie = browser.cookies["session"]
        [record] = records(db_app)
        assert len(cookie) >= 43 and "." not in cookie  # 256 random bits, nothing signed inside
        assert cookie not in record.id_hash
        assert (record.door, record.scope, record.contact_ref) == ("link", "full", demo_ref(db_app))
        assert EMAIL.encode() not in record.sealed_data and b"Ane" not in record.sealed_data


def test_signing_in_gives_a_new_id(db_app, smtp):
    with serve(db_app) as base:
        browser = requests.Session()
        browser.get(base + "/")
        before = browser.cookies["session"]
        sign_in_over_http(base, smtp, browser=browser)
        assert browser.cookies["session"] != before
        assert len(records(db_app)) == 1  # the new record took the old one's place
        planted = requests.get(base + "/profile/", headers={"Cookie": f"session={before}"},
                               allow_redirects=False)
        assert planted.status_code == 302  # a cookie planted before sign-in opens nothing


def test_signing_out_deletes_the_record_and_keeps_the_language(db_app, smtp):
    with serve(db_app) as base:
        browser = requests.Session()
        browser.get(base + "/?lang=en")
        sign_in_over_http(base, smtp, browser=browser)
        sign_out_over_http(base, browser)
        assert [r.contact_ref for r in records(db_app)] == [None]
        assert '<html lang="en">' in browser.get(base + "/").text


def test_every_session_of_a_contact_can_be_ended(db_app, smtp):
    with serve(db_app) as base:
        phone, laptop = sign_in_over_http(base, smtp), sign_in_over_http(base, smtp)
        other = sign_in_over_http(base, smtp, "jon@example.org")
        with db_app.app_context():
            assert end_sessions_of(demo_ref(db_app)) == 2
        for browser in (phone, laptop):
            assert browser.get(base + "/profile/", allow_redirects=False).status_code == 302
        assert other.get(base + "/profile/", allow_redirects=False).status_code == 200


def test_an_idle_session_ends_and_the_start_page_says_so(db_app, smtp, monkeypatch):
    with serve(db_app) as base:
        browser = sign_in_over_http(base, smtp)
        start = time.time()
        monkeypatch.setattr(time, "time", lambda: start + 29 * 60)
        assert browser.get(base + "/profile/", allow_redirects=False).status_code == 200
        monkeypatch.setattr(time, "time", lambda: start + 29 * 60 + 31 * 60)
        answer = browser.get(base + "/profile/")
        assert answer.url == base + "/" and 'role="status"' in answer.text
        assert all(r.contact_ref is None for r in records(db_app))


def test_ended_sessions_are_purged(db_app, smtp):
    with serve(db_app) as base:
        sign_in_over_http(base, smtp)
        requests.get(base + "/")  # an anonymous visitor with a form
    store = db_app.session_interface.store
    start = time.time()
    store.purge(moment(start + 31 * 60))
    kept = {r.contact_ref is None: r.sealed_data is not None for r in records(db_app)}
    # The idle signed-in session ended: its record stays a day, empty, to say so;
    # the anonymous one (a day of idle time) keeps its form token.
    assert kept == {False: False, True: True}
    store.purge(moment(start + 2 * 86400))
    assert records(db_app) == []


def moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_sessions_made_under_another_secret_key_are_not_read(backend, make_app, smtp,
                                                             monkeypatch):
    monkeypatch.setenv("PORTAL_SECRET_KEY", secrets.token_urlsafe(48))
    before = make_app()
    with serve(before) as base:
        browser = sign_in_over_http(base, smtp)
    monkeypatch.setenv("PORTAL_SECRET_KEY", secrets.token_urlsafe(48))  # the key was changed
    with serve(make_app()) as base:
        assert browser.get(base + "/profile/", allow_redirects=False).status_code == 302


def test_the_cookie_lasts_as_long_as_the_session_may_and_a_day_to_say_it_ended(backend, make_app,
                                                                               smtp):
    app = make_app(replace={"session_idle_minutes = 30": "session_idle_minutes = 30\n"
                                                          "session_lifetime_hours = 48"})
    with serve(app) as base:
        browser = sign_in_over_http(base, smtp)
    [cookie] = [c for c in browser.cookies if c.name == "session"]
    assert abs(cookie.expires - (time.time() + (48 + 24) * 3600)) < 60
    assert cookie.has_nonstandard_attr("HttpOnly")


def test_a_session_lifetime_below_one_hour_is_refused(tmp_path):
    path = demo_config(tmp_path, replace={"session_idle_minutes = 30":
                                          "session_idle_minutes = 30\nsession_lifetime_hours = 0"})
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert any("session_lifetime_hours" in problem and "line 12" in problem
               for problem in refused.value.problems), refused.value.problems


def test_the_message_after_a_save_shows_once_and_costs_the_sessions_record_nothing(db_app, smtp):
    from tests.conftest import sign_in
    from tests.db.test_bulk_delivery import write_transactions
    from tests.web.test_profile import current_form

    client = db_app.test_client()
    sign_in(client, smtp)
    client.get("/profile/?lang=en")
    form = current_form(client)
    form["first_name"] = "Flashed"
    with write_transactions(database(db_app).engine) as committed:
        saved = client.post("/profile/", data=form)
        shown = client.get(saved.location).data.decode()
    assert "Your changes are saved" in shown
    assert not [t for t in committed if "sessions" in t], committed
    assert "Your changes are saved" not in client.get("/profile/").data.decode()  # once


def test_a_message_no_portal_signed_is_not_shown(db_app, smtp):
    from itsdangerous import URLSafeTimedSerializer

    from tests.conftest import sign_in

    client = db_app.test_client()
    sign_in(client, smtp)
    forged = URLSafeTimedSerializer("not the portal's key", salt="portal flashes")
    client.set_cookie("session_flash", forged.dumps([["success", "Send your bank details"]]))
    assert "bank details" not in client.get("/profile/").data.decode()
