"""What the CRM offers, a field and a list created on the embedded CRM and
exposed from the catalogue, and the preview that writes nothing."""

from __future__ import annotations

import re

from portal.crm.base import FieldRef, ItemRef
from portal.delivery import delivery
from tests.staff.conftest import field_form, press, token_of


def test_the_catalogue_lists_what_the_crm_offers_and_what_is_shown(staff):
    html = staff.get("/staff/catalogue").data.decode()
    row = html.split('id="field-sector"', 1)[1].split("</tr>", 1)[0]
    assert "education, culture, industry, other" in row and "se muestra" in row
    unexposed = html.split('id="field-languages"', 1)[1].split("</tr>", 1)[0]
    assert "Añadir al borrador" in unexposed
    assert "interest-volunteering" in html  # a tag in use


def test_a_field_and_a_list_made_in_the_embedded_crm_reach_the_draft(staff, staff_app):
    made = press(staff, "/staff/catalogue/create-field", key="membership_level", label="Level",
                 type="select", choices="gold | Oro | Urrea | Gold\nsilver")
    assert made.status_code == 302
    crm = delivery(staff_app).crm
    info = next(f for f in crm.describe().fields if f.key == "membership_level")
    assert info.choices == (("gold", "Gold"), ("silver", "silver"))
    exposed = press(staff, "/staff/catalogue/expose-field", crm_field="membership_level")
    assert exposed.headers["Location"].endswith("/staff/draft/fields/11")
    form = field_form(staff, 11)
    assert form["label_en"] == "Level" and form["type"] == "select"
    assert "gold |  |  | Gold" in form["choices"]
    press(staff, "/staff/catalogue/create-list", key="4", label="Members' magazine")
    answer = press(staff, "/staff/catalogue/expose-item", kind="list", ref="4", group="0")
    assert answer.headers["Location"].endswith("/staff/draft/groups/0/items/2")
    assert "Elemento “members_magazine” añadido" in staff.get("/staff/draft").data.decode()


def test_a_refused_key_is_said_and_nothing_is_made(staff, staff_app):
    answer = press(staff, "/staff/catalogue/create-field", key="Bad Key", label="x", type="text")
    assert answer.status_code == 302
    assert "minúsculas" in staff.get("/staff/catalogue").data.decode()
    assert "Bad Key" not in {f.key for f in delivery(staff_app).crm.describe().fields}


def test_the_preview_shows_the_draft_in_the_language_asked_and_saves_nothing(staff, staff_app):
    form = field_form(staff, 0)
    form["label_eu"] = "Zure izena"
    staff.post("/staff/draft/fields/0", data=form)
    page = staff.get("/staff/preview/page?in_language=eu")
    html = page.data.decode()
    assert page.status_code == 200 and "Zure izena" in html and 'lang="eu"' in html
    assert page.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in page.headers["Content-Security-Policy"]
    # The contacts' page still has the published label.
    assert "Zure izena" not in staff.get("/staff/history/1").data.decode()
    crm = delivery(staff_app).crm
    contact = crm.find_contact("demo@example.org")
    before = crm.fetch_profile(contact, [FieldRef("first_name")], [ItemRef("list", "1")])
    action = re.search(r'<form method="post" action="([^"]+)" novalidate class="profile-form"',
                       html).group(1)
    assert action.startswith("/staff/preview/page")
    sent = staff.post(action.replace("&amp;", "&") + "&sample=demo@example.org", data={
        "csrf_token": token_of(html), "first_name": "Changed", "action": "save"})
    assert sent.status_code == 200 and "ez da ezer gorde" in sent.data.decode()
    after = crm.fetch_profile(contact, [FieldRef("first_name")], [ItemRef("list", "1")])
    assert after == before


def test_the_preview_shows_a_test_contact_from_the_crm(staff):
    html = staff.get("/staff/preview/page?in_language=es&sample=demo@example.org").data.decode()
    assert 'value="Ane"' in html and "demo@example.org" in html
    made_up = staff.get("/staff/preview/page?in_language=es").data.decode()
    assert "ane@example.org" in made_up
