"""What the profile page writes once and keeps (each field's options, the
form's class) belongs to one published layout: a new version shows its
labels and options on the contact's next pages, in every language, with the
contact's own values."""

from __future__ import annotations

import re
import time

from portal.staff.published import CHECK_EVERY
from tests.conftest import sign_in
from tests.staff.conftest import field_form, press

SECTOR = 6  # the demo configuration's select of marketing's choices


def sector_select(page: str) -> str:
    match = re.search(r'<select[^>]*name="sector"[^>]*>(.*?)</select>', page, re.S)
    assert match, "the page has no sector select"
    return match.group(1)


def test_a_published_label_and_options_show_on_the_next_pages(staff, staff_app, smtp):
    contact = staff_app.test_client()
    sign_in(contact, smtp)
    for language in ("es", "eu", "en"):  # every language's page written, and kept, once
        contact.get(f"/profile/?lang={language}")
    form = field_form(staff, SECTOR)
    form["label_es"], form["label_eu"], form["label_en"] = "Ámbito", "Esparrua", "Field of work"
    form["choices"] = form["choices"].replace("Cultura | Kultura | Culture",
                                              "Arte y cultura | Artea eta kultura | Arts and culture")
    staff.post(f"/staff/draft/fields/{SECTOR}", data=form)
    assert press(staff, "/staff/publish", note="clearer sector").status_code == 302

    deadline = time.monotonic() + CHECK_EVERY + 3
    while "Field of work" not in contact.get("/profile/?lang=en").data.decode():
        assert time.monotonic() < deadline, "the new version never reached the page"
        time.sleep(0.2)
    for language, label, culture, old in (
            ("es", "Ámbito", "Arte y cultura", ">Cultura<"),
            ("eu", "Esparrua", "Artea eta kultura", ">Kultura<"),
            ("en", "Field of work", "Arts and culture", ">Culture<")):
        page = contact.get(f"/profile/?lang={language}").data.decode()
        assert f'<label for="sector">{label}</label>' in page
        options = sector_select(page)
        # The contact's own choice (culture) stays chosen, under its new name.
        assert f'<option selected value="culture">{culture}</option>' in options
        assert old not in options and options.count("selected") == 1
