"""The way out: "unsubscribe from all" reaches only the groups marketing lets
it reach, the page offers fewer emails, a pause or only some items instead,
asks why (if marketing wants to know), says what happens next, and can be
undone while the session lasts."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from portal.crm.base import Change, FieldRef, ItemRef
from tests.conftest import csrf_token, sign_in
from tests.web.test_profile import crm_of, current_form, demo_contact, stored

ALL_ITEMS = [ItemRef("list", n) for n in ("1", "2", "3", "99")] + \
    [ItemRef("tag", t) for t in ("interest-volunteering", "interest-courses")]
KEPT_NOTICES = "in_unsubscribe_all = false            # notices about one's membership: " \
               "\"unsubscribe from all\" keeps them\n"


@pytest.fixture
def signed(client, smtp):
    sign_in(client, smtp)
    return client


def subscribed(client) -> frozenset[ItemRef]:
    return crm_of(client).fetch_profile(demo_contact(client), [], ALL_ITEMS).subscribed


def leave_all(client, **answers) -> None:
    page = client.get("/profile/unsubscribe-all")
    answer = client.post("/profile/unsubscribe-all",
                         data={"csrf_token": csrf_token(page.data), **answers})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/profile/unsubscribed")


def text_of(html: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))


def test_unsubscribe_from_all_leaves_only_the_groups_it_reaches(signed):
    crm = crm_of(signed)
    contact = demo_contact(signed)
    crm.define_list("99", "Not exposed")
    crm.apply(Change(contact.ref, contact.email, join=(ItemRef("list", "99"),)))
    assert subscribed(signed) == {ItemRef("list", "1"), ItemRef("list", "3"), ItemRef("list", "99"),
                                  ItemRef("tag", "interest-volunteering")}
    leave_all(signed)
    # The newsletters go; the membership notices (kept out by marketing), the
    # interests (tags) and a list the portal does not show stay.
    assert subscribed(signed) == {ItemRef("list", "3"), ItemRef("list", "99"),
                                  ItemRef("tag", "interest-volunteering")}
    # The CRM's own opt-out would stop the notices too: it is not set.
    assert crm.fetch_profile(contact, [], []).opted_out_all is False
    audit = crm.notes_of(contact.ref)[-1]["body"]
    assert "Boletín semanal" in audit and "Avisos de cuota" not in audit


def test_when_nothing_is_kept_the_crms_opt_out_is_set_and_subscribing_lifts_it(make_app, smtp):
    client = make_app(replace={KEPT_NOTICES: ""}).test_client()
    sign_in(client, smtp)
    leave_all(client)
    assert subscribed(client) == {ItemRef("tag", "interest-volunteering")}  # tags: interests
    crm = crm_of(client)
    assert crm.fetch_profile(demo_contact(client), [], []).opted_out_all is True
    form = current_form(client)
    form["sub_weekly"] = ["y"]
    client.post("/profile/", data=form)
    assert crm.fetch_profile(demo_contact(client), [], []).opted_out_all is False


def test_a_group_of_tags_is_reached_when_marketing_says_so(make_app, smtp):
    interests = 'key = "interests"\n'
    client = make_app(replace={interests: interests + "in_unsubscribe_all = true\n"}).test_client()
    sign_in(client, smtp)
    leave_all(client)
    assert subscribed(client) == {ItemRef("list", "3")}


def test_the_page_says_what_goes_and_what_stays_and_offers_other_ways(signed):
    page = text_of(signed.get("/profile/unsubscribe-all?lang=en").data)
    goes = page.split("You will stop receiving:")[1].split("You will still receive")[0]
    assert "Weekly newsletter" in goes and "Membership fee" not in goes
    stays = page.split("You will still receive")[1]
    assert "Membership fee and renewal notices" in stays
    for offer in ("How often do you want our emails?", "Send me no email until",
                  "Choose which emails to keep", "Why are you leaving? (optional)"):
        assert offer in page


def test_fewer_emails_instead_of_leaving(signed):
    page = signed.get("/profile/unsubscribe-all?lang=en")
    answer = signed.post("/profile/unsubscribe-all/fewer",
                         data={"csrf_token": csrf_token(page.data), "fewer": "quarterly"})
    assert answer.status_code == 302
    assert stored(signed, "email_frequency")["email_frequency"] == "quarterly"
    assert subscribed(signed) >= {ItemRef("list", "1")}  # nothing left
    confirmation = text_of(signed.get("/profile/").data)
    assert "Once every three months" in confirmation
    refused = signed.post("/profile/unsubscribe-all/fewer",
                          data={"csrf_token": csrf_token(page.data), "fewer": "daily"})
    assert refused.status_code == 400


def test_a_pause_until_a_date_within_a_year(signed):
    page = signed.get("/profile/unsubscribe-all?lang=en")
    html = page.data.decode()
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    assert f'min="{tomorrow.isoformat()}"' in html  # the date picker offers only the allowed days
    until = dt.date.today() + dt.timedelta(days=30)
    answer = signed.post("/profile/unsubscribe-all/pause",
                         data={"csrf_token": csrf_token(html), "pause": until.isoformat()})
    assert answer.status_code == 302
    assert stored(signed, "emails_paused_until")["emails_paused_until"] == until.isoformat()
    assert str(until.year) in text_of(signed.get("/profile/").data)
    for refused_day in (dt.date.today() - dt.timedelta(days=1), dt.date.today() + dt.timedelta(days=400)):
        answer = signed.post("/profile/unsubscribe-all/pause",
                             data={"csrf_token": csrf_token(html), "pause": refused_day.isoformat()})
        assert answer.status_code == 400
        error = re.search(r'id="pause-error">(.*?)</p>', answer.data.decode(), re.S)
        assert error and "Choose a date from" in error.group(1)
    assert stored(signed, "emails_paused_until")["emails_paused_until"] == until.isoformat()


def test_why_are_you_leaving_lands_in_the_crm(signed):
    leave_all(signed, reason="too_many", comment="Three a week is a lot.")
    assert stored(signed, "leave_reason")["leave_reason"] == "too_many"
    notes = crm_of(signed).notes_of(demo_contact(signed).ref)
    said = [n for n in notes if "Three a week is a lot." in n["body"]]
    assert len(said) == 1 and said[0]["title"]


def test_without_a_crm_field_the_reason_goes_to_the_note(make_app, smtp):
    client = make_app(replace={'crm_field = "leave_reason"\n': ""}).test_client()
    sign_in(client, smtp)
    leave_all(client, reason="not_relevant", comment="")
    assert stored(client, "leave_reason")["leave_reason"] is None
    notes = crm_of(client).notes_of(demo_contact(client).ref)
    assert any("No me interesan" in n["body"] for n in notes)  # in the staff's language


def test_a_reason_that_is_not_offered_is_refused(signed):
    page = signed.get("/profile/unsubscribe-all")
    answer = signed.post("/profile/unsubscribe-all",
                         data={"csrf_token": csrf_token(page.data), "reason": "spite"})
    assert answer.status_code == 400
    assert ItemRef("list", "1") in subscribed(signed)


def test_the_confirmation_says_what_happens_next_and_undo_puts_things_back(signed):
    crm = crm_of(signed)
    contact = demo_contact(signed)
    before = subscribed(signed)
    tags = crm.tags_of(contact.ref)
    leave_all(signed)
    done = signed.get("/profile/unsubscribed?lang=en")
    page = text_of(done.data)
    assert "What happens next" in page
    assert "You will not receive these emails any more: Weekly newsletter" in page
    assert "You will still receive: Membership fee and renewal notices." in page
    answer = signed.post("/profile/unsubscribed/undo", data={"csrf_token": csrf_token(done.data)})
    assert answer.status_code == 302
    assert subscribed(signed) == before
    assert crm.tags_of(contact.ref) == tags  # no welcome follow-ups for an undo
    assert "Welcome back" in text_of(signed.get("/profile/?lang=en").data)
    # Once undone, there is nothing left to undo.
    assert "Undo" not in text_of(signed.get("/profile/unsubscribed?lang=en").data)


def test_undo_lasts_as_long_as_the_session(signed, smtp):
    leave_all(signed)
    signed.post("/sign-out", data={"csrf_token": csrf_token(signed.get("/profile/").data)})
    sign_in(signed, smtp)
    assert "Undo" not in text_of(signed.get("/profile/unsubscribed?lang=en").data)


def test_undo_lifts_only_an_opt_out_it_set(make_app, smtp):
    client = make_app(replace={KEPT_NOTICES: ""}).test_client()
    sign_in(client, smtp)
    crm = crm_of(client)
    contact = demo_contact(client)
    crm.apply(Change(contact.ref, contact.email, unsubscribe_all=True))  # opted out before
    leave_all(client)
    done = client.get("/profile/unsubscribed")
    client.post("/profile/unsubscribed/undo", data={"csrf_token": csrf_token(done.data)})
    profile = crm.fetch_profile(contact, [FieldRef("first_name")], ALL_ITEMS)
    assert ItemRef("list", "1") in profile.subscribed and profile.opted_out_all is True
