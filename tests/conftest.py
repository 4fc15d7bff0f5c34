"""Shared fixtures: the portal on the demo configuration, with a real SMTP
server on loopback catching its email and a fresh embedded CRM per test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app
from portal.commands.demo import seed
from portal.crm.local import LocalCrm
from portal.delivery import delivery
from tests.support.config import STRONG_KEY, demo_config
from tests.support.smtp import Inbox, link_in, start_smtp

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    controller, inbox = start_smtp()
    yield inbox
    controller.stop()


@pytest.fixture
def make_app(tmp_path: Path, smtp: Inbox, monkeypatch: pytest.MonkeyPatch):
    """Build a portal app on a copy of the demo configuration (see demo_config
    for the arguments), mail going to the `smtp` fixture, CRM seeded."""
    monkeypatch.setenv("PORTAL_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("PORTAL_SECRET_KEY", STRONG_KEY)  # for configurations outside the demo
    port = smtp_port_of(smtp)

    def build(**config_changes) -> Flask:
        path = demo_config(tmp_path, smtp_port=port, **config_changes)
        app = create_app(path, {"TESTING": True})
        crm = delivery(app).crm
        if isinstance(crm, LocalCrm):
            seed(crm)
        return app

    return build


@pytest.fixture
def app(make_app) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def smtp_port_of(inbox: Inbox) -> int:
    return inbox.port


def csrf_token(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    match = CSRF.search(text)
    assert match, "the page has no CSRF token"
    return match.group(1)


def request_link(client: FlaskClient, email: str, **headers) -> None:
    page = client.get("/", headers=headers)
    answer = client.post("/sign-in", data={"email": email, "csrf_token": csrf_token(page.data)},
                         headers=headers)
    assert answer.status_code == 302, answer.data[:500]


def deliver_queued(app: Flask) -> None:
    """Deliver what waits in the queue now, as its workers would within seconds
    (a first profile view writes the contact's newsletter token there)."""
    with app.app_context():
        for entry in delivery(app).ledger.entries():
            delivery(app).writer.deliver(entry.id)


def sign_in(client: FlaskClient, smtp: Inbox, email: str = "demo@example.org") -> None:
    """Sign in as a contact would: ask for a link, open it, press the button."""
    before = len(smtp.sent_to(email))
    request_link(client, email)
    link = link_in(smtp.wait_for(email, count=before + 1)[-1])
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path)
    assert page.status_code == 200
    done = client.post("/" + path, data={"csrf_token": csrf_token(page.data)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/profile/")
