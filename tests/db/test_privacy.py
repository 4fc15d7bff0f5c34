"""What the portal's database holds after people ask for links and sign in:
no email address, no client address, no contact's name, in any column."""

from __future__ import annotations

import requests
from sqlalchemy import MetaData, select

from portal.db import database
from tests.conftest import csrf_token
from tests.db.conftest import sign_in_over_http
from tests.support.live import serve


def everything_stored(app) -> bytes:
    """Every value of every row of every table, as bytes."""
    db = database(app)
    tables = MetaData()
    tables.reflect(db.engine)
    values: list[bytes] = []
    with db.transaction() as connection:
        for table in tables.sorted_tables:
            for row in connection.execute(select(table)):
                values += [v if isinstance(v, bytes) else str(v).encode() for v in row]
    return b"\n".join(values).lower()


def test_the_database_holds_no_email_after_sign_in_requests(db_app, smtp):
    with serve(db_app) as base:
        browser = sign_in_over_http(base, smtp)  # asks, reads "check your email", signs in
        browser.get(base + "/profile/")
        sign_in_over_http(base, smtp, "jon@example.org")
        stranger = requests.Session()  # an address the CRM does not know
        start = stranger.get(base + "/")
        sent = stranger.post(base + "/sign-in", data={"email": "Unknown.Person@Example.org",
                                                      "csrf_token": csrf_token(start.text)})
        assert "unknown.person@example.org" in sent.text.lower()  # shown, not stored
    stored = everything_stored(db_app)
    assert len(stored) > 1000  # links, sessions and counters are there
    # (The published layout holds the organisation's own addresses: its privacy page, info@.)
    for secret in (b"demo@example.org", b"jon@example.org", b"unknown.person@example.org",
                   b"127.0.0.1", b"ane demo", b"etxeberria"):
        assert secret not in stored, secret
