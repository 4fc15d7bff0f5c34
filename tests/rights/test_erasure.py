""""Forget me": confirmed on a second page; the contact unsubscribed from
everything, the CRM told (the embedded CRM deletes them for real), the
data-protection address emailed, the portal's own records deleted but the
proof, every session ended, and an acknowledgement sent."""

from __future__ import annotations

import json

from tests.conftest import csrf_token, sign_in
from tests.rights.conftest import (
    DEMO,
    contact,
    crm,
    deliver_queued,
    newsletter_client,
    rows,
    save,
    text_of,
    titled,
)

OWN_RECORDS = ("consent_records", "change_events", "email_changes", "rights_links", "mail_outbox")


def forget(client, lang: str = "en"):
    """Both pages, as the contact goes through them."""
    first = client.get(f"/rights/forget?lang={lang}")
    assert first.status_code == 200
    assert 'href="/rights/forget/confirm"' in first.get_data(as_text=True)
    second = client.get("/rights/forget/confirm")
    assert second.status_code == 200
    done = client.post("/rights/forget/confirm", data={"csrf_token": csrf_token(second.data)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/rights/forgotten")
    return client.get("/rights/forgotten").get_data(as_text=True)


def test_forget_me_erases_the_contact_and_keeps_only_the_proof(signed, smtp, app):
    elsewhere = app.test_client()
    sign_in(elsewhere, smtp)
    save(signed, lang="en", sub_events="y")
    signed.get("/rights/my-data")  # a download on record
    ref = contact(app).ref
    deliver_queued(app)  # the newsletter token of the first view, written by the queue
    page = forget(signed)
    assert "our contact records have your request to be forgotten" in page
    assert crm(app).find_contacts(DEMO) == []  # the embedded CRM deleted them for real
    for browser in (signed, elsewhere):
        assert browser.get("/profile/").status_code == 302
    request = smtp.wait_for("privacidad@example.org")[-1]
    assert DEMO in request["Subject"]
    assert ref in text_of(request) and "Ane Demo" in text_of(request)
    ack = titled(smtp, DEMO, "We have received your request to be forgotten")
    assert "privacidad@example.org" in text_of(ack)
    for table in OWN_RECORDS:
        assert not [r for r in rows(app, table) if r.get("contact_ref") == ref], table
    (proof,) = rows(app, "erasures")
    assert (proof["contact_ref"], proof["door"], proof["crm_outcome"]) == (ref, "link", "applied")
    assert DEMO not in json.dumps(proof, default=str)  # a keyed hash, not the address
    exported = app.test_cli_runner().invoke(args=["consent", "export", "--contact", DEMO])
    document = json.loads(exported.output)
    assert document["consent_records"] == [] and len(document["erasures"]) == 1


def test_nothing_happens_without_the_second_page(signed, app):
    signed.get("/rights/forget")
    page = signed.get("/rights/forget/confirm")
    assert signed.post("/rights/forget/confirm", data={}).status_code == 400  # no form token
    assert contact(app).email == DEMO and rows(app, "erasures") == []
    assert page.status_code == 200


def test_a_newsletter_link_cannot_erase_anyone(app):
    reader = newsletter_client(app)
    token = csrf_token(reader.get("/profile/").data)
    answer = reader.post("/rights/forget/confirm", data={"csrf_token": token})
    assert answer.status_code == 403
    assert contact(app).email == DEMO
