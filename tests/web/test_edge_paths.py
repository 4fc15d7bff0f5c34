"""The contact's edge paths, tried as a contact would: error pages, the
language links after a refused form, "send me a new link" pages, CRM
refusals, dates, the country list, the page's order, its footer and the
completeness indicator. What the browser alone shows is in
tests/browser/test_edge_paths.py."""

from __future__ import annotations

import datetime as dt
import html as markup
import logging
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from portal.fields.widgets import collation_key, country_choices
from tests.conftest import csrf_token, request_link, sign_in
from tests.support.smtp import link_in
from tests.web.test_profile import crm_of, current_form, demo_contact, stored

EMAIL = "demo@example.org"


@pytest.fixture
def signed(client, smtp):
    sign_in(client, smtp)
    return client


def text_of(html: bytes | str) -> str:
    html = html.decode() if isinstance(html, bytes) else html
    return markup.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def language_links(html: str) -> list[str]:
    nav = re.search(r'<nav class="languages".*?</nav>', html, re.S).group(0)
    return [markup.unescape(href) for href in re.findall(r'href="([^"]+)"', nav)]


# --- error pages and the favicon -----------------------------------------------------

NOT_FOUND = {"es": "No encontramos esta página", "eu": "Ez dugu orri hau aurkitu",
             "en": "Page not found"}
NOT_THIS_WAY = {"es": "Esta página no se puede abrir así", "eu": "Orri hau ezin da horrela ireki",
                "en": "This page cannot be opened this way"}
OUR_SIDE = {"es": "Algo ha fallado por nuestra parte", "eu": "Zerbaitek huts egin du gure aldetik",
            "en": "Something went wrong on our side"}


def assert_portal_page(html: str, language: str, heading: str) -> None:
    assert f'<html lang="{language}">' in html
    assert "<main" in html and "<header" in html and "<footer" in html  # landmarks
    assert re.search(rf"<h1>\s*{re.escape(heading)}\s*</h1>", html)
    assert 'href="/"' in html  # a way back
    assert "Demo Elkartea" in html


@pytest.mark.parametrize("language", ["es", "eu", "en"])
def test_404_and_405_are_the_portals_own_pages_in_the_contacts_language(client, language):
    answer = client.get(f"/no/such/page?lang={language}")
    assert answer.status_code == 404
    assert_portal_page(answer.data.decode(), language, NOT_FOUND[language])
    answer = client.get("/sign-in")  # answers forms only
    assert answer.status_code == 405
    assert_portal_page(answer.data.decode(), language, NOT_THIS_WAY[language])


def test_a_500_is_the_portals_own_page(make_app, smtp):
    app = make_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the error page answers
    client = app.test_client()
    client.get("/?lang=eu")
    request_link(client, EMAIL)
    link = link_in(smtp.wait_for(EMAIL)[-1])
    path = "/" + link.split("/", 3)[3]
    page = client.get(path)
    # The embedded CRM's file is damaged: not a CRM outage, a fault of ours.
    crm_file = Path(app.instance_path) / "demo-crm.sqlite3"
    for leftover in crm_file.parent.glob("demo-crm.sqlite3-*"):
        leftover.unlink()
    crm_file.write_bytes(b"not a database" * 100)
    answer = client.post(path, data={"csrf_token": csrf_token(page.data)})
    assert answer.status_code == 500
    assert_portal_page(answer.data.decode(), "eu", OUR_SIDE["eu"])


def test_the_favicon_answers_without_a_session(client):
    answer = client.get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.data[:4] == b"\x00\x00\x01\x00"  # an icon file
    assert answer.mimetype == "image/vnd.microsoft.icon"
    assert "Set-Cookie" not in answer.headers
    assert "max-age" in answer.headers["Cache-Control"]


# --- the language links ------------------------------------------------------------


def assert_language_links_open(client, html: str) -> None:
    links = language_links(html)
    assert len(links) == 2
    for link in links:
        assert client.get(link).status_code in (200, 302), link


def test_language_links_after_a_refused_form_open_a_page(make_app):
    client = make_app(replace={"link_requests_per_address_per_hour = 30":
                               "link_requests_per_address_per_hour = 1"}).test_client()
    page = client.get("/")
    bad_address = client.post("/sign-in", data={"email": "not-an-address",
                                                "csrf_token": csrf_token(page.data)})
    assert bad_address.status_code == 400
    assert_language_links_open(client, bad_address.data.decode())
    no_token = client.post("/sign-in", data={"email": EMAIL})
    assert no_token.status_code == 400
    assert_language_links_open(client, no_token.data.decode())
    for email in ("one@example.org", "two@example.org"):
        too_many = client.post("/sign-in", data={"email": email, "csrf_token": csrf_token(page.data)})
    assert too_many.status_code == 429
    assert_language_links_open(client, too_many.data.decode())


def test_changing_language_on_the_profile_keeps_the_edits_unsaved(signed):
    page = signed.get("/profile/").data.decode()
    # The language controls send the profile form to this page in the other language.
    assert re.search(r'<button type="submit" form="profile-form" formaction="/profile/\?lang=eu" '
                     r'name="action" value="language"', page)
    form = current_form(signed)
    form.update({"first_name": "Miren", "action": "language"})
    answer = signed.post("/profile/?lang=eu", data=form)
    assert answer.status_code == 200
    html = answer.data.decode()
    assert '<html lang="eu">' in html and 'value="Miren"' in html
    assert "Oraindik ez da ezer gorde" in html
    assert stored(signed, "first_name")["first_name"] == "Ane"
    assert crm_of(signed).notes_of(demo_contact(signed).ref) == []


# --- "send me a new link" ------------------------------------------------------------


def email_input(html: str) -> str:
    tag = re.search(r'<input[^>]*name="email"[^>]*>', html).group(0)
    value = re.search(r'value="([^"]*)"', tag)
    return value.group(1) if value else ""


def test_a_replaced_link_offers_a_new_one_to_the_same_address(client, smtp):
    request_link(client, EMAIL)
    first = link_in(smtp.wait_for(EMAIL)[-1])
    request_link(client, EMAIL)
    smtp.wait_for(EMAIL, count=2)
    answer = client.get("/" + first.split("/", 3)[3])
    assert answer.status_code == 410
    assert email_input(answer.data.decode()) == EMAIL
    # Another browser, which asked for nothing, is told nothing.
    other = client.application.test_client().get("/" + first.split("/", 3)[3])
    assert email_input(other.data.decode()) == ""


def test_an_ended_session_offers_a_new_link_to_its_address(make_app, smtp, monkeypatch):
    client = make_app().test_client()
    sign_in(client, smtp)
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start + 31 * 60)  # past the idle time
    answer = client.get("/profile/", follow_redirects=True)
    html = answer.data.decode()
    assert 'role="status"' in html and email_input(html) == EMAIL


def test_signing_out_forgets_the_address(signed):
    signed.post("/sign-out", data={"csrf_token": csrf_token(signed.get("/profile/").data)})
    assert email_input(signed.get("/").data.decode()) == ""


# --- refusals and acknowledgements ---------------------------------------------------

CITY = ('[[fields]]\nkey = "city"\ncrm_field = "city"\ntype = "text"\n'
        'label = { es = "Ciudad", eu = "Herria", en = "City" }\n')


def test_a_crm_refusal_is_a_translated_sentence_and_the_crms_words_go_to_the_log(make_app, smtp,
                                                                                  caplog):
    client = make_app(append=CITY).test_client()
    sign_in(client, smtp)
    client.get("/profile/?lang=en")
    form = current_form(client)
    form["city"] = "Bilbao"
    with caplog.at_level(logging.WARNING):
        answer = client.post("/profile/", data=form)
    assert answer.status_code == 422
    page = text_of(answer.data)
    assert "Our system did not accept what you wrote in “City”." in page
    assert "Unknown field" not in page
    assert "Unknown field 'city'" in caplog.text


def test_a_refusal_that_names_no_field_is_told_without_the_crms_words(make_app, smtp, caplog):
    item = '  [[groups.items]]\n  key = "volunteering"\n'
    unknown = ('  [[groups.items]]\n  key = "members_only"\n  kind = "list"\n  ref = "77"\n'
               '  label = "Members"\n\n')
    client = make_app(replace={item: unknown + item}).test_client()
    sign_in(client, smtp)
    client.get("/profile/?lang=en")
    form = current_form(client)
    form["sub_members_only"] = ["y"]
    with caplog.at_level(logging.WARNING):
        answer = client.post("/profile/", data=form)
    assert answer.status_code == 422
    page = text_of(answer.data)
    assert "Our system did not accept these changes." in page and "77" not in page
    assert "Unknown list '77'" in caplog.text


def test_a_comment_is_acknowledged(signed):
    signed.get("/profile/?lang=en")
    form = current_form(signed)
    form["comments"] = "Please call me in the mornings."
    signed.post("/profile/", data=form)
    page = text_of(signed.get("/profile/?lang=en").data)
    assert "Thank you for your message: a person on our team will read it." in page
    form = current_form(signed)
    form["first_name"] = "Miren"  # a save without a comment thanks for nothing
    signed.post("/profile/", data=form)
    assert "Thank you for your message" not in text_of(signed.get("/profile/").data)


# --- countries, dates, plurals -----------------------------------------------------------


def country_names(page: str) -> list[str]:
    select = re.search(r'<select[^>]*name="country".*?</select>', page, re.S).group(0)
    return [markup.unescape(n) for n in re.findall(r'<option[^>]*value="[A-Z]{2}"[^>]*>([^<]+)<',
                                                   select)]


def test_countries_are_sorted_as_each_language_sorts_and_are_countries(signed):
    spanish = country_names(signed.get("/profile/?lang=es").data.decode())
    assert spanish.index("Antártida") < spanish.index("Antigua y Barbuda")
    assert not {"Canarias", "Ceuta y Melilla", "Diego García"} & set(spanish)
    assert "España" in spanish
    english = country_names(signed.get("/profile/?lang=en").data.decode())
    assert english[:3] == ["Afghanistan", "Åland Islands", "Albania"]
    basque = country_names(signed.get("/profile/?lang=eu").data.decode())
    assert basque.index("Åland") < basque.index("Albania")
    assert {code for code, _ in country_choices("eu")} == {code for code, _ in country_choices("es")}


def test_spanish_sorts_n_with_tilde_after_n():
    words = ["ñu", "nz", "o", "na"]
    assert sorted(words, key=lambda w: collation_key(w, "es")) == ["na", "nz", "ñu", "o"]
    assert sorted(words, key=lambda w: collation_key(w, "eu")) == ["na", "ñu", "nz", "o"]


def test_a_read_only_date_reads_well_in_basque(make_app, smtp):
    client = make_app(replace={'latest = "today"\n': 'latest = "today"\neditable = false\n'}
                      ).test_client()
    sign_in(client, smtp)
    page = text_of(client.get("/profile/?lang=eu").data)
    assert "1990eko maiatzaren 31" in page and "(e)ko" not in page and "(a)" not in page
    assert "31 de mayo de 1990" in text_of(client.get("/profile/?lang=es").data)


def test_a_birth_date_in_the_future_is_refused(signed):
    page = signed.get("/profile/?lang=en").data.decode()
    tag = re.search(r'<input[^>]*name="birth_date"[^>]*>', page).group(0)
    assert 'min="1900-01-01"' in tag and f'max="{dt.date.today().isoformat()}"' in tag
    form = current_form(signed)
    form["birth_date"] = "2099-01-01"
    answer = signed.post("/profile/", data=form)
    assert answer.status_code == 400
    error = re.search(r'id="birth_date-error">(.*?)</p>', answer.data.decode(), re.S).group(1)
    assert "Choose a date from January 1, 1900 to" in text_of(error)
    assert stored(signed, "birth_date")["birth_date"] == "1990-05-31"


@pytest.mark.parametrize(("language", "said", "never"), [
    ("es", "durante 1 minuto.", "1 minutos"), ("en", "for 1 minute.", "1 minutes")])
def test_one_minute_is_said_in_the_singular(make_app, smtp, language, said, never):
    client = make_app(replace={"link_lifetime_minutes = 30": "link_lifetime_minutes = 1"}
                      ).test_client()
    client.get(f"/?lang={language}")
    request_link(client, EMAIL)
    sent = text_of(client.get("/sign-in/sent").data)
    assert said in sent and never not in sent
    email = smtp.wait_for(EMAIL)[-1].get_body(("plain",)).get_content()
    assert said in email and never not in email


# --- what the page offers where --------------------------------------------------------


def test_an_items_image_may_be_one_per_language(make_app, smtp):
    basque = "https://www.example.org/eu/asteko-buletina.svg"
    client = make_app(replace={'image = "img/weekly.svg"':
                               f'image = {{ es = "img/weekly.svg", eu = "{basque}" }}'}).test_client()
    sign_in(client, smtp)
    images = {lang: re.findall(r'<img src="([^"]+)"[^>]*class="item-image"',
                               client.get(f"/profile/?lang={lang}").data.decode())
              for lang in ("es", "eu", "en")}
    # English has none of its own: the default language's, as for any text.
    assert images == {"es": ["/static/img/weekly.svg"], "eu": [basque],
                      "en": ["/static/img/weekly.svg"]}


def test_read_only_fields_show_their_own_help_not_an_inputs_hint(make_app, smtp):
    client = make_app(replace={'pattern = \'^\\+?[0-9 ]{6,20}$\'':
                               'pattern = \'^\\+?[0-9 ]{6,20}$\'\neditable = false'}).test_client()
    sign_in(client, smtp)
    page = text_of(client.get("/profile/?lang=en").data)
    assert "+34 600 000 000" in page  # the phone, shown read-only
    assert "Digits and spaces only" not in page
    assert "To change it, write to us." in page  # the phone's read-only help


def test_names_birth_date_and_country_tell_the_browser_what_they_hold(signed):
    page = signed.get("/profile/").data.decode()
    for name, autocomplete in (("first_name", "given-name"), ("last_name", "family-name"),
                               ("birth_date", "bday"), ("country", "country"), ("phone", "tel")):
        tag = re.search(rf'<(?:input|select)[^>]*name="{name}"[^>]*>', page).group(0)
        assert f'autocomplete="{autocomplete}"' in tag, tag


def pages_a_contact_reaches(client, smtp) -> dict[str, str]:
    pages = {"start": client.get("/").data.decode(),
             "link problem": client.get("/link/nonsense").data.decode()}
    sign_in(client, smtp)
    for name, path in (("profile", "/profile/"), ("unsubscribe", "/profile/unsubscribe-all"),
                       ("unsubscribed", "/profile/unsubscribed")):
        pages[name] = client.get(path).data.decode()
    form = current_form(client)
    form["birth_date"] = "2099-01-01"
    pages["profile with errors"] = client.post("/profile/", data=form).data.decode()
    return pages


def test_no_page_repeats_an_id_or_points_to_no_description(client, smtp):
    for name, page in pages_a_contact_reaches(client, smtp).items():
        ids = Counter(re.findall(r'\sid="([^"]+)"', page))
        assert [i for i, n in ids.items() if n > 1] == [], name
        assert 'aria-describedby=""' not in page and "aria-describedby=\" \"" not in page, name


def test_subscriptions_come_first_and_the_order_is_marketings(make_app, smtp):
    def order(client) -> list[str]:
        page = client.get("/profile/").data.decode()
        found = {name: page.index(marker) for name, marker in (
            ("subscriptions", 'id="group-newsletters"'), ("details", 'id="details-title"'),
            ("languages", 'id="languages-title"'))}
        return sorted(found, key=found.get)

    client = make_app().test_client()
    sign_in(client, smtp)
    assert order(client) == ["subscriptions", "details", "languages"]
    client = make_app(replace={'crm = "main"': 'crm = "main"\n'
                               'profile_order = ["details", "languages", "subscriptions"]'}
                      ).test_client()
    sign_in(client, smtp)
    assert order(client) == ["details", "languages", "subscriptions"]


def test_unsubscribe_from_all_sits_beside_save(signed):
    page = signed.get("/profile/").data.decode()
    actions = re.search(r'<div class="actions">(.*?)</div>', page, re.S).group(1)
    assert 'value="save"' in actions and 'href="/profile/unsubscribe-all"' in actions


def footer(client, language: str) -> str:
    page = client.get(f"/?lang={language}").data.decode()
    return re.search(r"<footer.*?</footer>", page, re.S).group(0)


def test_every_page_has_a_footer_with_the_organisation_and_its_links(client):
    basque = footer(client, "eu")
    assert "Demo Elkartea" in basque
    assert 'href="https://www.example.org/eu/pribatutasuna/"' in basque
    assert "Pribatutasun-politika" in basque and 'href="mailto:info@example.org"' in basque
    assert 'href="https://www.example.org/en/privacy/"' in footer(client, "en")


def test_without_footer_settings_the_footer_names_the_organisation(make_app):
    text = (Path(__file__).resolve().parents[2] / "config" / "demo.toml").read_text()
    start = text.index("[page]")
    block = text[start:text.index("\n\n", start) + 2]
    client = make_app(replace={block: ""}).test_client()
    shown = footer(client, "es")
    assert "Demo Elkartea" in shown and "href" not in shown


def test_the_footer_names_the_organisation_page_texts_name(make_app):
    client = make_app(replace={"[page]": '[page]\norganisation = "Demo Elkartea Fundazioa"'}
                      ).test_client()
    assert "Demo Elkartea Fundazioa" in footer(client, "es")


def test_completeness_counts_the_wanted_fields_and_links_the_missing_ones(signed):
    page = text_of(signed.get("/profile/?lang=en").data)
    assert "complete" not in page  # all there: nothing to nudge about
    form = current_form(signed)
    form["phone"] = ""
    signed.post("/profile/", data=form)
    html = signed.get("/profile/?lang=en").data.decode()
    assert "Your profile is 67% complete" in text_of(html)
    assert re.search(r'<li><a href="#phone">Phone</a></li>', html)


def test_without_wanted_fields_there_is_no_indicator(make_app, smtp):
    client = make_app(replace={"wanted = true": "wanted = false"}).test_client()
    sign_in(client, smtp)
    form = current_form(client)
    form["phone"] = ""
    client.post("/profile/", data=form)
    assert "complete" not in text_of(client.get("/profile/?lang=en").data)
