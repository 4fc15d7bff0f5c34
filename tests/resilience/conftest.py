"""The portal in front of a fake ActiveCampaign over loopback HTTP, with
short backoffs and leases so that faults play out in seconds."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app
from portal.delivery import delivery
from tests.conftest import csrf_token, sign_in
from tests.fakes import activecampaign as fake
from tests.fakes.server import FakeServer, _drop_connection
from tests.support.smtp import Inbox, free_port

EMAIL = "ane@example.org"
FAST = {
    "apply_timeout": 1.0, "backoff_first": 0.2, "backoff_max": 1.0, "lease_seconds": 2.0,
    "sweep_after_seconds": 0.5, "worker_poll_seconds": 0.1, "worker_threads": 2,
    "cache": "filesystem",
}


@dataclass
class Account:
    """One fake ActiveCampaign account with the fields and lists the test config uses."""

    server: FakeServer
    state: fake.AcState
    topics: str = ""
    weekly: str = ""
    events: str = ""
    contact: str = ""
    drop_after: dict[str, int] = field(default_factory=dict)  # "METHOD /path" -> answers to lose
    hold_after: dict[str, float] = field(default_factory=dict)  # "METHOD /path" -> seconds
    arrivals: list[float] = field(default_factory=list)  # when each request arrived (monotonic)

    @property
    def row(self) -> dict:
        return self.state.contacts[self.contact]

    def value(self, field_id: str) -> str:
        return next((fv["value"] for fv in self.state.field_values
                     if fv["contact"] == self.contact and fv["field"] == field_id), "")

    def lists(self) -> set[str]:
        return {cl["list"] for cl in self.state.contact_lists
                if cl["contact"] == self.contact and cl["status"] == "1"}

    def notes(self) -> list[str]:
        return self.state.notes_of(self.contact)


def start_account(contact: bool = True, first_ids: int = 100) -> Account:
    state = fake.AcState()
    state.ids = itertools.count(first_ids)  # each account its own ids, as in real life
    app = fake.create_app(state)
    arrivals: list[float] = []
    # Registered before the fake's own hook, so it sees the requests answered 429 too.
    app.before_request(lambda: arrivals.append(time.monotonic()))
    account = Account(FakeServer(app), state, arrivals=arrivals)

    # Lose the answer after the CRM did the work: the case that needs idempotency.
    @app.after_request
    def lose_answer(response):
        from flask import request

        key = f"{request.method} {request.path}"
        time.sleep(account.hold_after.get(key, 0))  # the work is done, the answer slow
        if account.drop_after.get(key, 0) > 0:
            account.drop_after[key] -= 1
            _drop_connection()
        return response

    account.server.start()
    account.topics = state.add_field("Topics", "listbox", ("music", "theatre"))
    account.weekly = state.add_list("Weekly")
    account.events = state.add_list("Events")
    if contact:
        account.contact = state.add_contact(EMAIL, datetime(2026, 1, 5, tzinfo=UTC),
                                            firstName="Ane", lastName="Etxeberria")
        state.set_value(account.contact, account.topics, "||music||")
    return account


@pytest.fixture
def ac(monkeypatch) -> Iterator[Account]:
    account = start_account()
    monkeypatch.setenv("PORTAL_CRM_MAIN_API_TOKEN", account.state.token)
    yield account
    account.server.stop()


def config_text(ac: Account, smtp_port: int, resilience: dict | None = None,
                mirrors: dict[str, Account] | None = None, storage_url: str = "memory://",
                main_options: str = "", extra: str = "") -> str:
    settings = {**FAST, **(resilience or {})}
    lines = [f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {str(v).lower()}"
             for k, v in settings.items()]
    lines = [line.replace("'", '"') for line in lines]
    mirror_names = list(mirrors or {})
    mirror_blocks = "".join(
        f'\n[crm.{name}]\ntype = "activecampaign"\nbase_url = "{m.server.url}"\n'
        f'field_map = {{ "{ac.topics}" = "{m.topics}" }}\n'
        f'list_map = {{ "{ac.weekly}" = "{m.weekly}", "{ac.events}" = "{m.events}" }}\n'
        for name, m in (mirrors or {}).items())
    return f"""
[portal]
name = "Resilience test"
demo = true
languages = ["es", "eu", "en"]
default_language = "en"
crm = "main"
mirrors = {mirror_names!r}
storage_url = "{storage_url}"

[mail]
backends = ["smtp"]
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
from = "Test <no-reply@example.org>"

[crm.main]
type = "activecampaign"
base_url = "{ac.server.url}"
{main_options}
{mirror_blocks}
[resilience]
{chr(10).join(lines)}

[[fields]]
key = "first_name"
crm_field = "firstName"
type = "text"
label = "First name"

[[fields]]
key = "topics"
crm_field = "{ac.topics}"
type = "multiselect"
label = "Topics"
choices = ["music", "theatre"]

[[fields]]
key = "comments"
crm_field = "comments"
type = "textarea"
label = "Comments"

[[groups]]
key = "news"
label = "News"

  [[groups.items]]
  key = "weekly"
  kind = "list"
  ref = "{ac.weekly}"
  label = "Weekly"

  [[groups.items]]
  key = "events"
  kind = "list"
  ref = "{ac.events}"
  label = "Events"
{extra}""".replace("'", '"')


@pytest.fixture
def portal_for(ac: Account, smtp: Inbox, tmp_path: Path, monkeypatch) -> Iterator[Callable[..., Flask]]:
    """Build the portal on `ac`; `portal_for(resilience={...}, mirrors={...})`.
    The queue's workers are started by the test when it wants them."""
    apps: list[Flask] = []

    def build(instance: str = "instance", testing: bool = True, **options) -> Flask:
        folder = tmp_path / instance
        monkeypatch.setenv("PORTAL_INSTANCE", str(folder))
        path = tmp_path / f"{instance}.toml"
        path.write_text(config_text(ac, smtp.port, **options), encoding="utf-8")
        app = create_app(path, {"TESTING": testing})
        apps.append(app)
        return app

    yield build
    for app in apps:
        delivery(app).queue.stop_worker()


@pytest.fixture
def portal_app(portal_for) -> Flask:
    return portal_for()


# --- what a contact does ------------------------------------------------------


def signed_in_client(app: Flask, smtp: Inbox) -> FlaskClient:
    client = app.test_client()
    sign_in(client, smtp, EMAIL)
    return client


def save(client: FlaskClient, ac: Account, *, first_name: str = "Ane",
         topics: tuple[str, ...] = ("music",), lists: tuple[str, ...] = (),
         comments: str = "", lang: str = "en", at_once: bool = False):
    """Open the profile and save it, after the time a contact takes to fill
    it in (unless `at_once`)."""
    page = client.get(f"/profile/?lang={lang}")
    assert page.status_code == 200, page.data[:300]
    data: dict = {"csrf_token": csrf_token(page.data), "first_name": first_name,
                  "topics": list(topics), "comments": comments, "action": "save"}
    for key in lists:
        data[f"sub_{key}"] = "y"
    if not at_once:
        filling_in(ac)
    return client.post("/profile/", data=data)


def filling_in(ac: Account) -> None:
    """Wait as a contact filling in the form does: the calls of the sign-in and
    of the page's read leave the second of ActiveCampaign's budget they took,
    and a save takes the budget for its whole write at once."""
    if ac.arrivals:
        time.sleep(max(0.0, ac.arrivals[-1] + 1.05 - time.monotonic()))


# --- waiting and the operator's view --------------------------------------------


def wait_until(check: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.05)


def queue_cli(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["queue", *args])
    assert result.exit_code == 0, result.output
    return result.output


# --- a real Redis ------------------------------------------------------------------


class RedisServer:
    """A real redis-server on a loopback port, keeping nothing on disk (as a
    Redis that only holds what may be lost is allowed to): a restart forgets
    everything."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if os.environ.get("CI"):
                pytest.fail("redis-server is missing: run scripts/system-deps.sh "
                            "(Debian: redis-server)")
            pytest.skip("redis-server is not installed (apt-get install redis-server)")
        self.binary, self.folder, self.port = binary, folder, free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        import redis

        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_until(lambda: _pings(redis.Redis(port=self.port)), 10, "redis-server to answer")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False
