"""The marketing workspace, driven as staff would drive it: sign in by the
emailed link, then press the workspace's buttons (plain forms, no script)."""

from __future__ import annotations

import html as markup
import re
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.staff.published import CHECK_EVERY
from tests.conftest import csrf_token
from tests.db.conftest import backend  # noqa: F401 - a fixture: SQLite, then PostgreSQL
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401 - fixtures
from tests.support.smtp import Inbox

PUBLISHER = "marketing@example.org"  # the demo configuration's staff list
EDITOR = "intern@example.org"
TWO_STAFF = {'members = [{ email = "marketing@example.org", role = "publisher" }]':
             'members = [{ email = "marketing@example.org", role = "publisher" },\n'
             '           { email = "intern@example.org", role = "editor" },\n'
             '           { email = "boss@example.org", role = "publisher" }]'}
STAFF_LINK = re.compile(r"https?://\S+/staff/link/\S+")
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def staff_link(smtp: Inbox, email: str, count: int) -> str:
    body = smtp.wait_for(email, count=count)[-1].get_body(("plain",))
    assert body is not None
    match = STAFF_LINK.search(body.get_content())
    assert match, "the email carries no workspace link"
    return "/" + match.group(0).split("://", 1)[1].split("/", 1)[1]


def token_of(html: bytes | str) -> str:
    """The CSRF token of a page, from a WTForms field or a plain hidden input."""
    text = html.decode() if isinstance(html, bytes) else html
    match = TOKEN.search(text)
    return match.group(1) if match else csrf_token(text)


def sign_in_staff(client: FlaskClient, smtp: Inbox, email: str = PUBLISHER) -> None:
    before = len(smtp.sent_to(email))
    page = client.get("/staff/")
    asked = client.post("/staff/sign-in", data={"email": email, "csrf_token": token_of(page.data)})
    assert asked.status_code == 302, asked.data[:300]
    link = staff_link(smtp, email, before + 1)
    confirm = client.get(link)
    assert confirm.status_code == 200
    done = client.post(link, data={"csrf_token": token_of(confirm.data)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/staff/draft"), done.data


def wait_until_served(client: FlaskClient, path: str, text: str) -> None:
    """Ask for `path` until it shows `text`: a published version reaches
    every process within CHECK_EVERY seconds."""
    deadline = time.monotonic() + CHECK_EVERY + 3
    while text not in client.get(path).data.decode():
        assert time.monotonic() < deadline, f"{text!r} never reached {path}"
        time.sleep(0.2)


def press(client: FlaskClient, path: str, **data: str) -> object:
    """Send a workspace form as the browser would, with the page's CSRF token."""
    page = client.get("/staff/draft")
    return client.post(path, data={"csrf_token": token_of(page.data), **data})


def field_form(client: FlaskClient, index: int) -> dict[str, str]:
    """The field editor's form as the browser would send it unchanged."""
    html = client.get(f"/staff/draft/fields/{index}").data.decode()
    form: dict[str, str] = {}
    for name, value in re.findall(r'<input type="text" id="[^"]+" name="([^"]+)"[^>]*value="([^"]*)"',
                                  html):
        form[name] = markup.unescape(value)
    for name in re.findall(r'<input type="checkbox" id="[^"]+" name="([^"]+)" value="y" checked', html):
        form[name] = "y"
    form["type"] = re.search(r'<option value="([a-z]+)" selected', html).group(1)
    form["choices"] = markup.unescape(re.search(
        r'<textarea id="choices" name="choices"[^>]*>([^<]*)</textarea>', html).group(1))
    form["csrf_token"] = token_of(html)
    return form


@pytest.fixture
def staff_app(make_app) -> Flask:
    return make_app(replace=TWO_STAFF)


@pytest.fixture
def staff(staff_app, smtp) -> FlaskClient:
    """A publisher signed in to the workspace."""
    client = staff_app.test_client()
    sign_in_staff(client, smtp)
    return client
