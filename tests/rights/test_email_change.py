"""A verified change of address: the new address confirms it, the old one is
told and can say "this was not me", only the confirmation writes the CRM
(mirrors included), and an address another contact has is refused without
telling anyone but that address's owner."""

from __future__ import annotations

import logging
import re
from dataclasses import replace

import requests
from sqlalchemy import update

from portal.commands.demo import seed
from portal.config import FieldSpec
from portal.crm.base import Contact, Profile
from portal.db import database
from portal.delivery import delivery
from portal.rights.models import RightsLink
from portal.rights.records.email_requests import address_field
from tests.conftest import sign_in
from tests.resilience.conftest import wait_until
from tests.rights.conftest import (
    DEMO,
    contact,
    crm,
    link_to,
    press,
    rows,
    save,
    text_of,
    wordpress_client,
)
from tests.support.config import FIVE_LINKS_AN_HOUR
from tests.support.live import serve

NEW = "ane.new@example.org"


def ask(client, address: str = NEW, lang: str = "en") -> str:
    """Type a new address on the profile page and save; the page after it."""
    answer = save(client, lang=lang, email=address)
    assert answer.status_code == 302
    return client.get(f"/profile/?lang={lang}").get_data(as_text=True)


def test_the_new_address_confirms_the_change_and_the_old_one_is_told(signed, smtp, app):
    ref = contact(app).ref
    elsewhere = app.test_client()
    sign_in(elsewhere, smtp)  # the contact's other browser
    before = len(smtp.sent_to(DEMO))
    page = ask(signed)
    assert f"We have sent a link to {NEW}" in page
    assert contact(app).email == DEMO  # nothing written yet
    confirmation = smtp.wait_for(NEW)[-1]
    assert confirmation["Subject"] == "Confirm your new email address at Demo Elkartea"
    notice = smtp.wait_for(DEMO, count=before + 1)[-1]
    assert NEW in text_of(notice) and "/rights/undo/" in text_of(notice)
    phone = app.test_client()  # the new mailbox is read on another device
    landed = press(phone, link_to(confirmation, "/rights/confirm/"), lang="en")
    assert landed.status_code == 302 and landed.headers["Location"].endswith("/profile/")
    profile = phone.get("/profile/?lang=en").get_data(as_text=True)
    assert f"Your email address is now {NEW}." in profile
    assert f"Signed in as {NEW}" in profile
    assert crm(app).find_contact(NEW).ref == ref
    assert crm(app).find_contacts(DEMO) == []
    for browser in (signed, elsewhere):  # the other sessions ended
        assert browser.get("/profile/").status_code == 302
    receipt = smtp.wait_for(NEW, count=2)[-1]
    assert f"Email: {DEMO} → {NEW}" in text_of(receipt)
    assert [r["event"] for r in rows(app, "change_events")] == ["email_change_asked",
                                                                "email_changed"]


def test_opening_the_link_changes_nothing_until_the_button_is_pressed(signed, smtp, app):
    ask(signed)
    link = link_to(smtp.wait_for(NEW)[-1], "/rights/confirm/")
    path = "/" + link.split("/", 3)[3]
    for _ in range(2):  # a mail scanner, then the contact
        assert app.test_client().get(path).status_code == 200
    assert contact(app).email == DEMO


def test_a_newer_request_replaces_the_older_link_and_a_link_works_once(signed, smtp, app):
    ask(signed)
    first = link_to(smtp.wait_for(NEW)[-1], "/rights/confirm/")
    ask(signed, "ane.other@example.org")
    second = link_to(smtp.wait_for("ane.other@example.org")[-1], "/rights/confirm/")
    refused = press(app.test_client(), first)
    assert refused.status_code == 410
    assert contact(app).email == DEMO
    assert press(app.test_client(), second).status_code == 302
    assert contact(app, "ane.other@example.org").ref
    again = app.test_client().get("/" + second.split("/", 3)[3])
    assert again.status_code == 410


def test_an_expired_link_does_not_work(signed, smtp, app):
    ask(signed)
    link = link_to(smtp.wait_for(NEW)[-1], "/rights/confirm/")
    with database(app).transaction() as db:
        db.execute(update(RightsLink).values(expires_at=RightsLink.issued_at))
    answer = app.test_client().get("/" + link.split("/", 3)[3] + "?lang=en")
    assert answer.status_code == 410 and "expired" in answer.get_data(as_text=True)


def test_an_address_another_contact_has_is_refused_and_only_its_owner_learns_why(signed, smtp,
                                                                               app):
    free = ask(signed, "free@example.org")
    taken = ask(signed, "jon@example.org")
    # The page says the same in both cases: it does not tell whether the address is a contact's.
    said = [re.search(r'class="message message-success">(.*?)</p>', page, re.S).group(1)
            .replace(address, "…") for page, address in ((free, "free@example.org"),
                                                         (taken, "jon@example.org"))]
    assert said[0] == said[1] and "We have sent a link to …" in said[0]
    letter = smtp.wait_for("jon@example.org")[-1]
    assert "already belongs to another record" in text_of(letter)
    assert "/rights/confirm/" not in text_of(letter)
    assert "Ane" not in text_of(letter) and DEMO not in text_of(letter)
    assert contact(app).email == DEMO and contact(app, "jon@example.org").name == "Jon Demo"


def test_an_address_taken_in_the_meantime_is_refused_at_confirmation(signed, smtp, app):
    ask(signed)
    link = link_to(smtp.wait_for(NEW)[-1], "/rights/confirm/")
    crm(app).create_contact(NEW, "Someone Else")  # someone else got there first
    answer = press(app.test_client(), link, lang="en")
    assert answer.status_code == 409
    page = answer.get_data(as_text=True)
    assert "already belongs to another record" in page and "Someone Else" not in page
    assert contact(app).email == DEMO
    assert [c.name for c in crm(app).find_contacts(NEW)] == ["Someone Else"]


def test_this_was_not_me_before_the_confirmation_cancels_it_and_signs_everyone_out(signed, smtp,
                                                                                 app):
    before = len(smtp.sent_to(DEMO))
    ask(signed)
    confirm = link_to(smtp.wait_for(NEW)[-1], "/rights/confirm/")
    undo = link_to(smtp.wait_for(DEMO, count=before + 1)[-1], "/rights/undo/")
    done = press(app.test_client(), undo, lang="en")
    assert done.status_code == 200 and "is cancelled" in done.get_data(as_text=True)
    assert signed.get("/profile/").status_code == 302
    assert press(app.test_client(), confirm).status_code == 410
    assert contact(app).email == DEMO


def test_this_was_not_me_after_the_change_landed_puts_the_old_address_back(signed, smtp, app):
    before = len(smtp.sent_to(DEMO))
    ask(signed)
    phone = app.test_client()
    press(phone, link_to(smtp.wait_for(NEW)[-1], "/rights/confirm/"))
    assert contact(app, NEW).ref
    undo = link_to(smtp.wait_for(DEMO, count=before + 1)[-1], "/rights/undo/")
    done = press(app.test_client(), undo, lang="en")
    assert done.status_code == 200
    assert f"We have put back your email address {DEMO}" in done.get_data(as_text=True)
    assert crm(app).find_contacts(NEW) == [] and contact(app).email == DEMO
    assert phone.get("/profile/").status_code == 302  # whoever confirmed is signed out
    receipt = smtp.wait_for(DEMO, count=before + 2)[-1]
    assert f"Email: {NEW} → {DEMO}" in text_of(receipt)


def test_asking_too_often_is_refused(make_app, smtp):
    app = make_app(replace=FIVE_LINKS_AN_HOUR)  # as often as sign-in links
    client = app.test_client()
    sign_in(client, smtp)
    for n in range(5):
        assert f"ane{n}@example.org" in ask(client, f"ane{n}@example.org")
    page = ask(client, "ane.last@example.org")
    assert "many times in a short time" in page and "ane.last@example.org" not in page


def test_mirrors_get_the_new_address_through_the_writer(make_app, smtp):
    app = make_app(replace={'crm = "main"\n': 'crm = "main"\nmirrors = ["copy"]\n'},
                   append='[crm.copy]\ntype = "local"\npath = "copy-crm.sqlite3"\n')
    copy = delivery(app).mirrors["copy"]
    seed(copy)
    client = app.test_client()
    sign_in(client, smtp)
    ask(client)
    press(app.test_client(), link_to(smtp.wait_for(NEW)[-1], "/rights/confirm/"))
    assert contact(app, NEW).ref
    delivery(app).queue.start_worker()
    try:
        wait_until(lambda: not delivery(app).ledger.entries(), what="the mirror's write")
    finally:
        delivery(app).queue.stop_worker()
    assert [c.email for c in copy.find_contacts(NEW)] == [NEW]
    assert copy.find_contacts(DEMO) == []


def test_from_wordpress_the_page_says_the_account_keeps_its_own_address(wordpress_app, smtp):
    browser = wordpress_client(wordpress_app)
    page = browser.get("/profile/?lang=en").get_data(as_text=True)
    assert "Your account on our website keeps its own email address" in page
    after = ask(browser)
    assert after.count("Your account on our website keeps its own email address") == 2  # and the note


def test_the_links_token_reaches_no_log_line(signed, smtp, app, caplog):
    ask(signed)
    link = link_to(smtp.wait_for(NEW)[-1], "/rights/confirm/")
    token = link.rsplit("/", 1)[1]
    caplog.set_level(logging.INFO, logger="werkzeug")
    with serve(app) as base:
        assert requests.get(base + "/rights/confirm/" + token, timeout=10).status_code == 200
    assert "/rights/confirm/" in caplog.text and token not in caplog.text


def test_the_contacts_address_is_the_field_that_holds_it_or_the_crms_email_field(app):
    main = FieldSpec("email", "email", "email", {"en": "Email"})
    work = FieldSpec("work", "work_email", "email", {"en": "Work email"})
    ane = Contact("c1", "ane@example.org")
    config = app.config["PORTAL"]
    both = replace(config, fields=(work, main))
    # Signed in with the work address: that field is theirs.
    assert address_field(both, ane, Profile(ane, {"work_email": "ane@example.org",
                                                  "email": "other@example.org"})) == work
    # Signed in with a second address the CRM holds (Clientify): the CRM's own email field.
    assert address_field(both, ane, Profile(ane, {"work_email": "w@example.org",
                                                  "email": "first@example.org"})) == main
    assert address_field(replace(config, fields=(work,)), ane,
                         Profile(ane, {"work_email": "w@example.org"})) is None
