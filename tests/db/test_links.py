"""Sign-in links in the database: single use even when pressed at once,
the newest per address wins, old ones are told apart from unknown ones, and
rows go once they can no longer help."""

from __future__ import annotations

import threading
import time

import requests
from sqlalchemy import func, select

from portal.auth.doors import doors
from portal.auth.links import LinkState
from portal.db import database
from portal.db.models import SignInLink
from tests.conftest import csrf_token
from tests.support.live import serve

EMAIL = "demo@example.org"


def links_of(app):
    return doors(app).links


def rows(app) -> list:
    with database(app).transaction() as db:
        return list(db.execute(select(SignInLink).order_by(SignInLink.id)).all())


def test_a_link_pressed_in_many_browsers_at_once_signs_in_one(db_app, smtp):
    with serve(db_app) as base:
        token = links_of(db_app).issue(EMAIL)
        link = f"{base}/link/{token}"
        browsers = [requests.Session() for _ in range(6)]
        forms = [csrf_token(browser.get(link).text) for browser in browsers]
        ready = threading.Barrier(len(browsers))
        answers: list[int] = []

        def press(browser: requests.Session, form: str) -> None:
            ready.wait()
            answer = browser.post(link, data={"csrf_token": form}, allow_redirects=False)
            answers.append(answer.status_code)

        presses = [threading.Thread(target=press, args=pair) for pair in zip(browsers, forms)]
        for thread in presses:
            thread.start()
        for thread in presses:
            thread.join(30)
        assert sorted(answers) == [302] + [410] * 5
        signed_in = [b for b in browsers if b.get(base + "/profile/", allow_redirects=False)
                     .status_code == 200]
        assert len(signed_in) == 1


def test_each_state_of_a_link(db_app, monkeypatch):
    links = links_of(db_app)
    first = links.issue(EMAIL)
    assert links.check(first).state is LinkState.VALID
    second = links.issue("Demo@Example.org")  # the same address, however it is typed
    assert links.check(first).state is LinkState.USED  # replaced
    assert links.use(first).state is LinkState.USED
    used = links.use(second)
    assert (used.state, used.email) == (LinkState.VALID, "Demo@Example.org")
    assert links.use(second).state is LinkState.USED
    assert links.check("not-a-token-of-ours").state is LinkState.INVALID
    third = links.issue(EMAIL)
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start + links.lifetime + 1)
    assert links.check(third).state is LinkState.EXPIRED
    assert links.use(third).state is LinkState.EXPIRED


def test_a_link_keeps_no_email_once_used_replaced_or_expired(db_app, monkeypatch):
    links = links_of(db_app)
    replaced = links.issue(EMAIL)
    used = links.issue(EMAIL)
    links.use(used)
    waiting = links.issue("jon@example.org")
    assert [row.sealed_email is None for row in rows(db_app)] == [True, True, False]
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start + links.lifetime + 1)
    links.issue("someone@example.org")  # issuing tidies up
    assert [row.sealed_email is None for row in rows(db_app)][:3] == [True, True, True]
    assert links.check(waiting).state is LinkState.EXPIRED  # told apart for a day
    assert links.check(replaced).state is LinkState.EXPIRED


def test_rows_are_purged_a_day_after_they_expire(db_app, monkeypatch):
    links = links_of(db_app)
    old = links.issue(EMAIL)
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start + links.lifetime + 86400 + 1)
    links.issue("someone@example.org")
    assert links.check(old).state is LinkState.INVALID
    with database(db_app).transaction() as db:
        assert db.execute(select(func.count()).select_from(SignInLink)).scalar_one() == 1
