"""Sign-in request limits hold across every worker that serves the portal,
in the database or in Redis, and a refused request harms no one."""

from __future__ import annotations

import time

import pytest
import redis
from sqlalchemy import func, select

from portal.auth.doors import doors
from portal.db import database
from portal.db.engine import Every
from portal.db.models import SignInRequest
from tests.conftest import csrf_token
from tests.resilience.conftest import redis_url  # noqa: F401 - a fixture
from tests.support.config import FIVE_LINKS_AN_HOUR
from tests.support.smtp import link_in

EMAIL = "demo@example.org"


@pytest.fixture
def make_app(make_app):
    """The demo with the default limit of five links an hour per address."""
    def build(**changes):
        return make_app(**{**changes, "replace": {**FIVE_LINKS_AN_HOUR, **changes.get("replace", {})}})
    return build


def ask(client, email: str, address: str = "127.0.0.1") -> int:
    page = client.get("/")
    return client.post("/sign-in", data={"email": email, "csrf_token": csrf_token(page.data)},
                       environ_base={"REMOTE_ADDR": address}).status_code


def two_workers(make_app, **changes):
    """Two app instances on one instance folder and database, as two gunicorn workers."""
    return make_app(**changes).test_client(), make_app(**changes).test_client()


def test_two_workers_share_the_limit_per_email(backend, make_app, smtp):
    one, two = two_workers(make_app)
    statuses = [ask(one if n % 2 else two, EMAIL) for n in range(10)]
    assert statuses == [302] * 5 + [429] * 5
    assert len(smtp.wait_for(EMAIL, count=5)) == 5


def test_two_workers_share_the_limit_per_client_address(backend, make_app, smtp):
    one, two = two_workers(make_app, replace={"link_requests_per_address_per_hour = 30":
                                              "link_requests_per_address_per_hour = 3"})
    statuses = [ask(one if n % 2 else two, f"person{n}@example.org") for n in range(6)]
    assert statuses == [302] * 3 + [429] * 3
    assert ask(one, "person9@example.org", address="192.0.2.7") == 302  # another client


def test_the_limit_leaves_the_pending_link_working(backend, make_app, smtp):
    client = make_app().test_client()
    assert [ask(client, EMAIL) for _ in range(6)] == [302] * 5 + [429]
    # Letters go out from several threads: the newest need not arrive last.
    paths = ["/" + link_in(letter).split("/", 3)[3] for letter in smtp.wait_for(EMAIL, count=5)]
    pages = [client.get(path) for path in paths]  # opening a link changes nothing
    working = [(path, page) for path, page in zip(paths, pages) if page.status_code == 200]
    assert len(working) == 1  # the newest: the refused request replaced nothing
    path, page = working[0]
    done = client.post(path, data={"csrf_token": csrf_token(page.data)})
    assert done.headers["Location"].endswith("/profile/")


def test_a_refused_request_spends_no_budget(backend, make_app, smtp):
    """Someone whose own address is refused cannot use up another person's
    email budget: the owner of the address still has what is left of it."""
    app = make_app(replace={"link_requests_per_address_per_hour = 30":
                            "link_requests_per_address_per_hour = 3"})
    attacker = app.test_client()
    statuses = [ask(attacker, EMAIL, address="198.51.100.1") for _ in range(8)]
    assert statuses == [302] * 3 + [429] * 5
    owner = app.test_client()
    # Five an hour per email: three went to the attacker's accepted requests.
    assert [ask(owner, EMAIL, address="203.0.113.5") for _ in range(3)] == [302, 302, 429]


def test_the_window_moves_and_old_counts_are_purged(backend, make_app, smtp, monkeypatch):
    client = make_app().test_client()
    assert [ask(client, EMAIL) for _ in range(6)] == [302] * 5 + [429]
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start + 3601)
    assert ask(client, EMAIL) == 302
    doors(client.application).throttle.counters.purging = Every(0)  # purge now
    ask(client, "other@example.org")
    with database(client.application).transaction() as db:
        left = db.execute(select(func.count()).select_from(SignInRequest)).scalar_one()
    assert left == 4  # the two requests of the last hour, each counted per email and address


def test_the_counters_hold_no_address_in_the_clear(backend, make_app, smtp):
    client = make_app().test_client()
    ask(client, EMAIL, address="203.0.113.5")
    with database(client.application).transaction() as db:
        keys = db.execute(select(SignInRequest.counter, SignInRequest.key)).all()
    assert sorted(counter for counter, _ in keys) == ["address", "email"]
    assert all(len(key) == 64 and "@" not in key and "203.0" not in key for _, key in keys)


@pytest.fixture
def shared_redis(redis_url):  # noqa: F811 - the fixture imported above
    redis.Redis.from_url(redis_url).flushdb()
    return redis_url


def test_workers_share_the_limit_in_redis_when_configured(make_app, smtp, shared_redis):
    one, two = two_workers(make_app, replace={'crm = "main"':
                                              f'crm = "main"\nstorage_url = "{shared_redis}"'})
    statuses = [ask(one if n % 2 else two, EMAIL) for n in range(8)]
    assert statuses == [302] * 5 + [429] * 3
    with database(one.application).transaction() as db:
        assert db.execute(select(func.count()).select_from(SignInRequest)).scalar_one() == 0
    stored = b" ".join(redis.Redis.from_url(shared_redis).keys("*"))
    assert b"demo" not in stored and b"127.0.0.1" not in stored
