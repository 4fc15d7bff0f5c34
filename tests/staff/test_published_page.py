"""What the profile page writes once and keeps (each field's options, the
form's class, the footer) belongs to one published layout: a new version
shows its labels, options and footer on the contact's next pages, in every
language, with the contact's own values."""

from __future__ import annotations

import html as markup
import re

from tests.conftest import sign_in
from tests.staff.conftest import field_form, press, token_of, wait_until_served

SECTOR = 6  # the demo configuration's select of marketing's choices


def sector_select(page: str) -> str:
    match = re.search(r'<select[^>]*name="sector"[^>]*>(.*?)</select>', page, re.S)
    assert match, "the page has no sector select"
    return match.group(1)


def page_texts_form(staff) -> dict[str, str]:
    """The page texts' editor as the browser would send it unchanged."""
    html = staff.get("/staff/draft/page").data.decode()
    form = {name: markup.unescape(value) for name, value in re.findall(
        r'<input type="text" id="[^"]+" name="([^"]+)"[^>]*value="([^"]*)"', html)}
    form.update((name, markup.unescape(text)) for name, text in re.findall(
        r'<textarea id="[^"]+" name="([^"]+)"[^>]*>([^<]*)</textarea>', html))
    form["csrf_token"] = token_of(html)
    return form


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
    texts = page_texts_form(staff)
    texts.update(footer_es="Pie nuevo", footer_eu="Oin berria", footer_en="A new footer")
    staff.post("/staff/draft/page", data=texts)
    assert press(staff, "/staff/publish", note="clearer sector").status_code == 302
    wait_until_served(contact, "/profile/?lang=en", "Field of work")
    for language, label, culture, old, footer in (
            ("es", "Ámbito", "Arte y cultura", ">Cultura<", "Pie nuevo"),
            ("eu", "Esparrua", "Artea eta kultura", ">Kultura<", "Oin berria"),
            ("en", "Field of work", "Arts and culture", ">Culture<", "A new footer")):
        page = contact.get(f"/profile/?lang={language}").data.decode()
        assert f'<label for="sector">{label}</label>' in page
        assert f"<p>{footer}</p>" in re.search(r"<footer.*?</footer>", page, re.S).group(0)
        options = sector_select(page)
        # The contact's own choice (culture) stays chosen, under its new name.
        assert f'<option selected value="culture">{culture}</option>' in options
        assert old not in options and options.count("selected") == 1
