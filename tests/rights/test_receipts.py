"""A receipt for every change: an email in the contact's language listing
what changed, when and through which door, with a link to the portal and
a "this was not me" link; queued while the mail server is down."""

from __future__ import annotations

import json

from sqlalchemy import select, update

from portal.db import database
from portal.db.keys import unseal
from portal.rights.models import OutboxMessage
from portal.rights.records import rights_records
from tests.conftest import sign_in
from tests.rights.conftest import DEMO, MailServer, contact, link_to, press, rows, save, text_of


def test_a_save_that_changed_something_sends_a_receipt(signed, smtp):
    before = len(smtp.sent_to(DEMO))
    answer = save(signed, lang="en", first_name="Ane Miren", sector="education",
                  sub_events="y", sub_weekly=None)
    assert answer.status_code == 302
    receipt = smtp.wait_for(DEMO, count=before + 1)[-1]
    assert receipt["Subject"] == "Your changes at Demo Elkartea"
    assert receipt["Content-Language"] == "en"
    text = text_of(receipt)
    assert "through an emailed link" in text
    assert "- First name: Ane → Ane Miren" in text
    assert "- Sector: Culture → Education" in text  # choices as marketing labelled them
    assert "Subscribed to: Events calendar" in text
    assert "Unsubscribed from: Weekly newsletter" in text
    assert "Phone" not in text  # only what changed
    assert "/rights/not-me/" in text and "http://localhost/" in text


def test_a_save_keeps_its_records_and_receipt_in_one_write_of_the_portals_database(signed, app,
                                                                                 smtp):
    # On SQLite every write transaction waits for the one writer's turn that
    # other contacts' pages wait for too: a save takes one, not four (the
    # session's record is left as it was: "saved" goes in a cookie).
    from tests.db.test_bulk_delivery import write_transactions

    signed.get("/profile/?lang=en")
    before = len(smtp.sent_to(DEMO))
    with write_transactions(database(app).engine) as committed:
        answer = save(signed, lang="en", first_name="Ane Miren", sub_events="y")
    assert answer.status_code == 302
    records = [t for t in committed if "INSERT INTO consent_records" in t]
    assert len(records) == 1
    assert "INSERT INTO rights_links" in records[0] and "INSERT INTO mail_outbox" in records[0]
    assert len(committed) == 1, committed
    assert "/rights/not-me/" in text_of(smtp.wait_for(DEMO, count=before + 1)[-1])


def test_the_receipt_speaks_the_contacts_language(signed, smtp):
    before = len(smtp.sent_to(DEMO))
    save(signed, lang="eu", sub_courses="y")
    receipt = smtp.wait_for(DEMO, count=before + 1)[-1]
    assert receipt["Content-Language"] == "eu"
    assert "Ikastaroak eta prestakuntza" in text_of(receipt)  # the item's Basque label
    assert "Demo Elkartea" in receipt["Subject"]


def test_nothing_changed_no_receipt(signed, smtp):
    before = len(smtp.sent_to(DEMO))
    answer = save(signed)
    assert answer.status_code == 302
    assert "nothing to save" in signed.get("/profile/?lang=en").data.decode()
    rights_records(signed.application).outbox.flush()
    assert len(smtp.sent_to(DEMO)) == before


def test_receipts_can_be_turned_off(make_app, smtp):
    app = make_app(replace={"receipts = true                       # email a receipt of every change":
                            "receipts = false"})
    client = app.test_client()
    sign_in(client, smtp)
    before = len(smtp.sent_to(DEMO))
    save(client, first_name="Quiet")
    rights_records(app).outbox.flush()
    assert len(smtp.sent_to(DEMO)) == before
    assert rows(app, "mail_outbox") == []


def test_with_the_mail_server_down_the_save_stands_and_the_receipt_waits(make_app):
    server = MailServer()
    app = make_app(replace=server.config())
    client = app.test_client()
    sign_in(client, server.inbox)
    server.stop()
    answer = save(client, first_name="Offline")
    assert answer.status_code == 302
    assert "Your changes are saved." in client.get("/profile/?lang=en").data.decode()
    outbox = rights_records(app).outbox
    outbox.background.submit(lambda: None).result()  # its first try is over
    waiting = outbox.waiting()
    assert [(m.purpose, m.attempts) for m in waiting] == [("receipt", 1)]
    assert "Could not send mail" in waiting[0].last_error
    assert outbox.flush() == 0  # not due again yet
    with database(app).transaction() as db:
        sealed = db.execute(select(OutboxMessage.sealed_message)).scalar_one()
    kept_id = json.loads(unseal(outbox.key, sealed))["draft"]["message_id"]
    server.start()
    with database(app).transaction() as db:  # a minute later
        db.execute(update(OutboxMessage).values(next_try_at=OutboxMessage.created_at))
    assert outbox.flush() == 1
    receipt = server.inbox.wait_for(DEMO, count=2)[-1]
    assert "Offline" in text_of(receipt)
    assert receipt["Message-ID"] == kept_id  # every try sends the id it was kept with
    assert outbox.waiting() == []
    server.stop()


def test_a_message_kept_whole_by_an_earlier_version_still_goes_out(app, smtp):
    """Messages waiting in the outbox when the portal is upgraded were kept
    as whole MIME messages; they are sent as they are."""
    from email.message import EmailMessage

    from portal.db.keys import seal
    from portal.db.models import utcnow

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "portal@example.org", DEMO, "Kept"
    message.set_content("Kept before the upgrade: ñ")
    outbox = rights_records(app).outbox
    with database(app).transaction() as db:
        db.execute(OutboxMessage.__table__.insert().values(
            contact_ref=None, purpose="receipt", created_at=utcnow(), next_try_at=utcnow(),
            attempts=0, last_error="", sealed_message=seal(outbox.key, message.as_bytes())))
    assert outbox.flush() == 1
    [kept] = [m for m in smtp.wait_for(DEMO) if m["Subject"] == "Kept"]
    assert "Kept before the upgrade: ñ" in text_of(kept)


def test_this_was_not_me_ends_every_session_and_tells_the_organisation(signed, smtp, app):
    other = app.test_client()
    sign_in(other, smtp)  # the contact's second browser
    before = len(smtp.sent_to(DEMO))
    save(signed, first_name="Intruder")
    receipt = smtp.wait_for(DEMO, count=before + 1)[-1]
    assert "Intruder" in text_of(receipt)
    stranger = app.test_client()
    done = press(stranger, link_to(receipt, "/rights/not-me/"), lang="en")
    assert done.status_code == 200
    assert "signed everyone out" in done.get_data(as_text=True)
    for browser in (signed, other):
        assert browser.get("/profile/").status_code == 302  # signed out
    report = smtp.wait_for("privacidad@example.org")[-1]  # the data-protection address
    assert contact(app).ref in text_of(report)
    events = [r["event"] for r in rows(app, "change_events")]
    assert events == ["saved", "not_me"]
    path = "/rights/not-me/" + link_to(receipt, "/rights/not-me/").rsplit("/", 1)[1]
    assert stranger.get(path).status_code == 410  # a link works once
