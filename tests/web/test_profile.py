"""The profile page: what a signed-in contact sees, edits and saves, and
what lands in the embedded CRM."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from portal.crm.base import Change, FieldRef, ItemRef
from portal.delivery import delivery
from tests.conftest import csrf_token, sign_in


@pytest.fixture
def signed(client, smtp):
    sign_in(client, smtp)
    return client


def crm_of(client):
    return delivery(client.application).crm


def demo_contact(client):
    return crm_of(client).find_contact("demo@example.org")


def stored(client, *fields: str) -> dict:
    crm = crm_of(client)
    contact = demo_contact(client)
    profile = crm.fetch_profile(contact, [FieldRef(f) for f in fields], [])
    return profile.values


def current_form(client) -> dict:
    """The form as the browser would send it untouched."""
    html = client.get("/profile/").data.decode()
    data: dict = {"csrf_token": csrf_token(html), "action": "save"}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        if name == "csrf_token":
            continue
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*value="{re.escape(value)}"[^>]*>', html)
        if 'type="checkbox"' in tag.group(0):
            if "checked" in tag.group(0):
                data.setdefault(name, []).append(value)
        else:
            data[name] = value
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', body)
        data[name] = (chosen.group(1) or chosen.group(2)) if chosen else ""
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        data[name] = body.strip()
    return data


def test_profile_shows_the_crm_values(signed):
    page = signed.get("/profile/?lang=en").data.decode()
    assert 'value="Ane"' in page and 'value="Etxeberria"' in page
    assert 'value="1990-05-31"' in page
    assert re.search(r'<option selected value="culture"|value="culture" selected', page)
    assert re.search(r'name="topics"[^>]*value="music" checked', page)
    # Read-only fields are shown, not editable.
    assert "0042" in page and 'name="member_number"' not in page
    # The address is editable in the demo, through its confirmation link (tests/rights).
    assert re.search(r'name="email"[^>]*value="demo@example.org"', page)
    # Every input has a label tied to it.
    for input_id in re.findall(r'<(?:input|select|textarea)[^>]*id="([^"]+)"', page):
        if input_id == "csrf_token":
            continue
        assert f'for="{input_id}"' in page, input_id


def test_untouched_form_saves_nothing(signed):
    answer = signed.post("/profile/", data=current_form(signed), follow_redirects=True)
    assert answer.status_code == 200
    assert crm_of(signed).notes_of(demo_contact(signed).ref) == []


def test_contact_edits_every_kind_of_field(signed):
    signed.get("/profile/?lang=en")  # the confirmation is in the contact's language
    form = current_form(signed)
    form.update({
        "first_name": "Ane Miren", "last_name": "", "phone": "+34 611 222 333",
        "birth_date": "1991-01-02", "country": "FR", "sector": "education",
        "topics": ["theatre"], "comments": "Please call me in the mornings.",
    })
    form.pop("sms_ok", None)  # untick the checkbox
    answer = signed.post("/profile/", data=form)
    assert answer.status_code == 302
    confirmation = signed.get("/profile/?lang=en").data.decode()
    assert "Your changes are saved." in confirmation
    assert 'value="Ane Miren"' in confirmation and 'value="1991-01-02"' in confirmation
    values = stored(signed, "first_name", "last_name", "phone", "birth_date", "country", "sector",
                    "topics", "sms_ok", "comments", "portal_last_changed")
    assert values == {
        "first_name": "Ane Miren", "last_name": None, "phone": "+34 611 222 333",
        "birth_date": "1991-01-02", "country": "FR", "sector": "education",
        "topics": ["theatre"], "sms_ok": False, "comments": None,
        "portal_last_changed": dt.date.today().isoformat(),
    }
    notes = crm_of(signed).notes_of(demo_contact(signed).ref)
    comment = [n for n in notes if "Please call me in the mornings." in n["body"]]
    assert len(comment) == 1 and comment[0]["title"]  # free text is a note, not a field
    audit = [n for n in notes if n is not comment[0]]
    assert len(audit) == 1
    assert "Ane Miren" in audit[0]["body"] and "Etxeberria" in audit[0]["body"]
    assert "Sector" in audit[0]["body"] and "Teléfono" in audit[0]["body"]


def test_only_changed_fields_are_written(signed):
    form = current_form(signed)
    form["first_name"] = "Miren"
    signed.post("/profile/", data=form)
    notes = crm_of(signed).notes_of(demo_contact(signed).ref)
    body = notes[0]["body"]
    assert "Miren" in body
    for untouched in ("Apellidos", "Teléfono", "Sector", "País", "Temas"):
        assert untouched not in body


@pytest.mark.parametrize(("field", "value", "message_part"), [
    ("first_name", "", "required"),
    ("first_name", "x" * 81, "80"),
    ("phone", "call me", "format"),
    ("birth_date", "31/05/1990", "1990-05-31"),
    ("sector", "astronaut", "options"),
    ("topics", "cooking", "options"),
    ("country", "XX", "options"),
])
def test_invalid_input_is_explained_next_to_the_field_and_kept(signed, field, value, message_part):
    form = current_form(signed)
    form[field] = value
    answer = signed.post("/profile/?lang=en", data=form)
    assert answer.status_code == 400
    page = answer.data.decode()
    error = re.search(rf'id="{field}-error">(.*?)</p>', page, re.S)
    assert error and message_part in error.group(1)
    assert f'href="#{field}"' in page  # linked from the summary
    if field in ("first_name", "phone", "birth_date"):
        assert f'value="{value}"' in page  # what was typed is kept
    assert crm_of(signed).notes_of(demo_contact(signed).ref) == []


def test_a_field_the_configuration_does_not_expose_is_refused(signed):
    form = current_form(signed)
    form["member_number"] = "9999"  # read-only in the configuration
    answer = signed.post("/profile/", data=form)
    assert answer.status_code == 400
    assert stored(signed, "member_number")["member_number"] == "0042"
    form = current_form(signed)
    form["portal_last_changed"] = "2000-01-01"  # a CRM field, never exposed
    assert signed.post("/profile/", data=form).status_code == 400
    assert stored(signed, "portal_last_changed")["portal_last_changed"] is None


def test_an_unknown_subscription_item_is_refused(signed):
    form = current_form(signed)
    form["sub_secret_list"] = "y"
    assert signed.post("/profile/", data=form).status_code == 400
    form = current_form(signed)
    form["action"] = "all:no_such_group"
    assert signed.post("/profile/", data=form).status_code == 400


def test_subscriptions_join_and_leave_with_followups(signed):
    crm = crm_of(signed)
    contact = demo_contact(signed)
    crm.define_list("99", "Not exposed")
    crm.apply(Change(contact.ref, contact.email, join=(ItemRef("list", "99"),)))
    form = current_form(signed)
    assert form["sub_weekly"] == ["y"]
    form.pop("sub_weekly")  # leave weekly
    form["sub_events"] = ["y"]  # join events
    form["sub_courses"] = ["y"]  # join a tag item
    signed.post("/profile/", data=form)
    profile = crm.fetch_profile(contact, [], [ItemRef("list", n) for n in ("1", "2", "3", "99")])
    assert profile.subscribed == {ItemRef("list", "2"), ItemRef("list", "3"),
                                  ItemRef("list", "99")}  # 99 untouched: not exposed
    assert crm.tags_of(contact.ref) >= {"interest-courses", "interest-volunteering"}
    assert crm.automations_of(contact.ref) == []  # events starts one only on unsubscribe
    form = current_form(signed)
    form.pop("sub_events")
    signed.post("/profile/", data=form)
    assert crm.automations_of(contact.ref) == ["events-farewell"]


def test_select_all_ticks_a_group_without_saving(signed):
    form = current_form(signed)
    form["action"] = "all:newsletters"
    answer = signed.post("/profile/", data=form)
    page = answer.data.decode()
    assert re.search(r'id="sub_events"[^>]*checked|checked[^>]*id="sub_events"', page)
    assert crm_of(signed).notes_of(demo_contact(signed).ref) == []


def test_languages_are_a_preference_written_to_the_crm(signed):
    form = current_form(signed)
    assert form["lang_eu"] == ["y"] and form["lang_es"] == ["y"]
    form.pop("lang_es")
    form["lang_en"] = ["y"]
    signed.post("/profile/", data=form)
    assert stored(signed, "languages")["languages"] == ["eu", "en"]


def test_language_tags_mode(make_app, smtp):
    app = make_app(replace={'mode = "field"': 'mode = "tags"\ntags = { es = "lang-es", '
                                              'eu = "lang-eu", en = "lang-en" }'})
    client = app.test_client()
    sign_in(client, smtp)
    form = current_form(client)
    form["lang_eu"] = ["y"]
    client.post("/profile/", data=form)
    assert "lang-eu" in crm_of(client).tags_of(demo_contact(client).ref)


def test_newsletter_link_reaches_subscriptions_only(client, smtp, app):
    sign_in(client, smtp)
    client.get("/profile/")  # the first visit gives the contact a newsletter token...
    assert stored(client, "portal_token")["portal_token"] is None  # ...through the queue
    deliver_the_queue(app)
    token = stored(client, "portal_token")["portal_token"]
    assert token
    client.get("/profile/")
    assert not delivery(app).ledger.entries()  # written once, not on every visit
    fresh = app.test_client()
    page = fresh.get(f"/n/{token}")
    assert page.status_code == 200
    assert fresh.get("/profile/").status_code == 302  # GET signs nobody in
    fresh.post(f"/n/{token}", data={"csrf_token": csrf_token(page.data)})
    profile = fresh.get("/profile/").data.decode()
    assert 'name="sub_weekly"' in profile and 'name="first_name"' not in profile
    form = current_form(fresh)
    form["first_name"] = "Intruder"
    assert fresh.post("/profile/", data=form).status_code == 400
    # Replacing the token in the CRM revokes the old link.
    crm = crm_of(client)
    contact = demo_contact(client)
    from portal.crm.base import FieldUpdate
    crm.apply(Change(contact.ref, contact.email,
                     fields=(FieldUpdate(FieldRef("portal_token"), "revoked"),)))
    other = app.test_client()
    page = other.get(f"/n/{token}")
    other.post(f"/n/{token}", data={"csrf_token": csrf_token(page.data)})
    assert other.get("/profile/").status_code == 302


def deliver_the_queue(app):
    with app.app_context():
        parts = delivery(app)
        for entry in parts.ledger.entries():
            parts.writer.deliver(entry.id)


def test_pages_are_not_framed_or_cached(signed):
    answer = signed.get("/profile/")
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["Cache-Control"] == "no-store"
    # Tokens in links never reach another site.
    assert answer.headers["Referrer-Policy"] == "same-origin"


def test_choices_can_come_from_the_crm(make_app, smtp):
    text = (Path(__file__).resolve().parents[2] / "config" / "demo.toml").read_text()
    start = text.index('label = { es = "Sector"')
    marketing_choices = text[start:text.index("]\n", start) + 2]
    app = make_app(replace={marketing_choices: 'label = "Sector"\nchoices_from_crm = true\n'})
    client = app.test_client()
    sign_in(client, smtp)
    page = client.get("/profile/?lang=eu").data.decode()
    # The embedded CRM's own option labels, with the stored value selected.
    options = re.findall(r'<option[^>]*value="([^"]+)"[^>]*>([^<]+)</option>',
                         page.split('name="sector"')[1].split("</select>")[0])
    assert ("industry", "Industry") in options and ("culture", "Culture") in options
    form = current_form(client)
    form["sector"] = "industry"
    assert client.post("/profile/", data=form).status_code == 302
    assert stored(client, "sector")["sector"] == "industry"
    form = current_form(client)
    form["sector"] = "astronaut"
    assert client.post("/profile/", data=form).status_code == 400


def test_a_comment_alone_is_one_note_with_no_empty_audit_note(signed):
    form = current_form(signed)
    form["comments"] = "Please write in Basque."
    assert signed.post("/profile/", data=form).status_code == 302
    notes = crm_of(signed).notes_of(demo_contact(signed).ref)
    assert len(notes) == 1 and "Please write in Basque." in notes[0]["body"]
