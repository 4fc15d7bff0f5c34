"""The contact's rights, tested as a contact exercises them: through the
profile page and the links in their email, with a real SMTP server on
loopback receiving every message and the embedded CRM holding the data."""

from __future__ import annotations

import re
import time
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import MetaData, select

from portal.crm.base import Contact, FieldRef, ItemRef
from portal.db import database
from portal.delivery import delivery
from tests.conftest import csrf_token, deliver_queued, sign_in
from tests.resilience.conftest import ac, portal_for  # noqa: F401 (fixtures: a CRM that goes down)
from tests.support.smtp import Inbox, free_port
from tests.web.test_profile import current_form
from tests.wordpress.assertions import SECRET, SITE, claims_for, door_section, sign

DEMO = "demo@example.org"
# The demo's items as the embedded CRM names them.
ITEMS = {"weekly": ItemRef("list", "1"), "events": ItemRef("list", "2"),
         "volunteering": ItemRef("tag", "interest-volunteering"),
         "courses": ItemRef("tag", "interest-courses"), "account_notices": ItemRef("list", "3")}


@pytest.fixture
def signed(client, smtp) -> FlaskClient:
    sign_in(client, smtp)
    return client


def crm(app: Flask):
    return delivery(app).crm


def contact(app: Flask, email: str = DEMO) -> Contact:
    found = crm(app).find_contact(email)
    assert found is not None, email
    return found


def subscribed(app: Flask, email: str = DEMO) -> set[str]:
    """The demo's item keys the CRM has the contact in."""
    profile = crm(app).fetch_profile(contact(app, email), [FieldRef("email")], list(ITEMS.values()))
    return {key for key, item in ITEMS.items() if item in profile.subscribed}


def save(client: FlaskClient, lang: str = "en", **changes) -> object:
    """Press "Save changes" on the profile page with `changes` made (None unticks)."""
    client.get(f"/profile/?lang={lang}")
    form = current_form(client)
    for name, value in changes.items():
        if value is None:
            form.pop(name, None)
        else:
            form[name] = value
    return client.post("/profile/", data=form)


def press(client: FlaskClient, url: str, lang: str = "") -> object:
    """Open a link from an email (its page shows a button) and press the button."""
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    page = client.get(path + (f"?lang={lang}" if lang else ""))
    assert page.status_code == 200, page.data[:300]
    return client.post(path, data={"csrf_token": csrf_token(page.data)})


def titled(inbox: Inbox, to: str, subject: str, timeout: float = 10.0) -> EmailMessage:
    """The newest message to `to` with `subject`, once it has arrived (other
    messages, such as receipts, may arrive before or after it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in inbox.sent_to(to) if m["Subject"] == subject]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no email to {to} titled {subject!r} within {timeout}s")


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return body.get_content()


def links_in(message: EmailMessage) -> list[str]:
    return re.findall(r"https?://\S+", text_of(message))


def link_to(message: EmailMessage, path: str) -> str:
    found = [link for link in links_in(message) if path in link]
    assert len(found) == 1, (path, links_in(message))
    return found[0]


def newsletter_client(app: Flask, email: str = DEMO) -> FlaskClient:
    """A browser that came in through the contact's newsletter link."""
    deliver_queued(app)
    link = app.test_cli_runner().invoke(args=["tokens", "issue", email]).output
    path = "/n/" + link.split("/n/", 1)[1].split()[0]
    reader = app.test_client()
    answer = reader.post(path, data={"csrf_token": csrf_token(reader.get(path).data)})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/profile/")
    return reader


WORDPRESS = door_section()


def wordpress_client(app: Flask, email: str = DEMO) -> FlaskClient:
    """A browser that came in from the WordPress site (the plugin's assertion)."""
    browser = app.test_client()
    answer = browser.post("/wordpress/enter", data={
        "assertion": sign(claims_for("http://localhost", email=email, issuer=SITE))})
    assert answer.status_code == 302, answer.data[:300]
    return browser


@pytest.fixture
def wordpress_app(make_app, monkeypatch) -> Flask:
    from portal.config.wordpress import ASSERTION_SECRET_ENV

    monkeypatch.setenv(ASSERTION_SECRET_ENV, SECRET)
    return make_app(append=WORDPRESS)


def rows(app: Flask, table: str) -> list[dict]:
    tables = MetaData()
    tables.reflect(database(app).engine, only=[table])
    with database(app).transaction() as db:
        return [dict(row._mapping) for row in db.execute(select(tables.tables[table]))]


class MailServer:
    """A real SMTP server on loopback that the test can stop and start again."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.inbox.port = free_port()
        self.start()

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.inbox.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def config(self) -> dict[str, str]:
        """`replace` for make_app: the portal's mail goes to this server only."""
        return {'backends = ["console", "file"]': 'backends = ["smtp"]\nsmtp_host = "127.0.0.1"\n'
                f"smtp_port = {self.inbox.port}"}
