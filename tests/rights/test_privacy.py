"""What the rights keep in the portal's database, on SQLite and PostgreSQL:
no address, no name and no field value in the clear, after an address change,
receipts waiting for a mail server and an erasure; and old records go."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from portal.db import database
from portal.db.models import utcnow
from portal.rights.models import ChangeEvent, Erasure
from portal.rights.records import rights_records
from portal.rights.records.retention import purge
from tests.conftest import sign_in
from tests.db.conftest import backend  # noqa: F401 (SQLite and PostgreSQL)
from tests.db.test_privacy import everything_stored
from tests.resilience.conftest import wait_until
from tests.rights.conftest import MailServer, rows, save
from tests.rights.test_erasure import forget
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401


@pytest.fixture
def db_app(backend, make_app):  # noqa: F811 (the fixture imported above)
    return make_app()


def test_the_rights_keep_no_address_name_or_value_in_the_clear(backend, make_app):  # noqa: F811
    server = MailServer()
    app = make_app(replace=server.config())
    ane, jon = app.test_client(), app.test_client()
    sign_in(ane, server.inbox)
    sign_in(jon, server.inbox, "jon@example.org")
    server.stop()  # every message the rights send waits in the outbox
    save(ane, first_name="Zuriñe", last_name="Goikoetxea", email="ane.new@example.org",
         sub_events="y")
    save(jon, first_name="Jonathan")
    forget(jon)
    outbox = rights_records(app).outbox
    everything = {"receipt", "email-notice", "email-confirm", "erasure-request", "erasure-ack"}
    wait_until(lambda: {m.purpose for m in outbox.waiting()} == everything, what="the outbox")
    stored = everything_stored(app)
    assert b"events calendar" in stored  # the wording shown is kept, as it should be
    for secret in (b"demo@example.org", b"ane.new@example.org", b"jon@example.org",
                   b"zuri\xc3\xb1e", b"goikoetxea", b"jonathan", b"ane demo", b"jon demo"):
        assert secret not in stored, secret


def test_history_links_and_erasure_proofs_are_purged_when_their_time_is_up(db_app, smtp):
    client = db_app.test_client()
    sign_in(client, smtp)
    save(client, sub_events="y")
    forget(client)
    long_ago = utcnow() - timedelta(days=5000)
    with database(db_app).transaction() as db:
        db.execute(update(ChangeEvent).values(at=long_ago))
        db.execute(update(Erasure).values(requested_at=long_ago))
    kept = rows(db_app, "consent_records")
    purge(db_app)
    assert rows(db_app, "change_events") == [] and rows(db_app, "erasures") == []
    assert rows(db_app, "consent_records") == kept  # kept while the contact is a contact
