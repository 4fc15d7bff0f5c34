"""What a contact sees on the edge paths and the way out, in the browser:
axe-core's WCAG 2.1 AA rules on every page a contact can reach (error
pages included) in es, eu and en at phone and desktop widths, a long
address at 320 px, the save confirmation announced, the error summary's
links, the language buttons that keep edits, and leaving and coming back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal.crm.base import Change, FieldRef, FieldUpdate, ItemRef
from portal.delivery import delivery
from tests.browser.flows import DESKTOP, PHONE, axe_violations, sign_in
from tests.conftest import deliver_queued
from tests.support.config import FIVE_LINKS_AN_HOUR
from tests.support.live import serve
from tests.support.smtp import link_in

LANGUAGES = ("es", "eu", "en")
NARROWEST = {"width": 320, "height": 640}


def new_page(browser, language: str = "es", javascript: bool = True, viewport=DESKTOP):
    context = browser.new_context(locale=f"{language}-ES", viewport=viewport,
                                  java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    return context, context.new_page()


class Audit:
    """axe-core's findings on each page, at both widths, gathered to be told at once."""

    def __init__(self) -> None:
        self.findings: list[str] = []
        self.pages: list[str] = []

    def check(self, page, name: str) -> None:
        self.pages.append(name)
        for width, size in (("390", PHONE), ("1280", DESKTOP)):
            page.set_viewport_size(size)
            report = axe_violations(page)
            if report:
                self.findings.append(f"{name} at {width} px:\n{report}")
            if page.evaluate("() => document.documentElement.scrollWidth") > size["width"]:
                self.findings.append(f"{name} at {width} px: wider than the screen")


def ask_for_a_link(page, base: str, email: str, without_token: bool = False) -> None:
    page.goto(base + "/")
    if without_token:
        page.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    page.locator("input[type=email]").fill(email)
    page.locator("form[action$='/sign-in'] button[type=submit]").click()


def walk_every_page(page, base: str, smtp, language: str, audit: Audit, app) -> None:
    crm = delivery(app).crm
    """Every page a contact can reach, in the order a contact meets them."""
    def seen(name: str) -> None:
        assert page.locator("html").get_attribute("lang") == language, name
        audit.check(page, f"{name} [{language}]")

    page.goto(base + "/")
    seen("start")
    ask_for_a_link(page, base, "not an address")
    seen("start, refused address")
    page.goto(base + "/link/not-a-link")
    seen("link problem")
    page.goto(base + "/no/such/page")
    seen("404")
    page.goto(base + "/sign-in")
    seen("405")
    ask_for_a_link(page, base, "demo@example.org", without_token=True)
    seen("form not checked (CSRF)")
    before = len(smtp.sent_to("demo@example.org"))
    ask_for_a_link(page, base, "demo@example.org")
    page.wait_for_url("**/sign-in/sent")
    seen("link sent")
    page.goto(link_in(smtp.wait_for("demo@example.org", count=before + 1)[-1]))
    seen("sign-in confirmation")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/profile/")
    seen("profile")
    page.locator("input[name=birth_date]").fill("2099-01-01")
    page.locator("input[name=first_name]").fill("")
    page.locator(".actions button[value=save]").click()
    seen("profile with errors")
    page.goto(base + "/profile/")
    page.locator("input[name=first_name]").fill(f"Miren ({language})")
    page.locator("input[name=phone]").fill("")
    page.locator(".actions button[value=save]").click()
    page.locator(".message-success").wait_for()
    assert page.locator("section.completeness progress").is_visible()
    seen("profile, saved, with the completeness indicator")
    page.goto(base + "/profile/unsubscribe-all")
    seen("unsubscribe from all")
    page.locator("input[name=pause]").fill("2000-01-01")
    page.locator("form[action$='/pause'] button[type=submit]").click()
    seen("unsubscribe from all, refused date")
    page.goto(base + "/profile/unsubscribe-all")
    page.locator("form[action$='/unsubscribe-all'] button[type=submit]").click()
    page.wait_for_url("**/profile/unsubscribed")
    seen("unsubscribed")
    page.locator("form[action$='/undo'] button[type=submit]").click()
    page.wait_for_url("**/profile/")
    deliver_queued(app)  # the first view's newsletter token, written by the queue
    token = crm.fetch_profile(crm.find_contact("demo@example.org"), [FieldRef("portal_token")],
                              []).values["portal_token"]
    page.locator("form[action$='/sign-out'] button").click()
    page.goto(f"{base}/n/{token}")
    seen("newsletter link")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/profile/")
    seen("profile from a newsletter link")
    page.locator("form[action$='/sign-out'] button").click()
    for _ in range(6):  # this address asks too often: the sixth request is refused
        ask_for_a_link(page, base, "busy@example.org")
    assert "/sign-in" in page.url
    seen("start, too many requests")


def test_every_page_a_contact_reaches_passes_axe_in_every_language_at_both_widths(
        browser, make_app, smtp):
    audit = Audit()
    app = make_app(replace=FIVE_LINKS_AN_HOUR)
    with serve(app) as base:
        for language in LANGUAGES:
            context, page = new_page(browser, language)
            walk_every_page(page, base, smtp, language, audit, app)
            context.close()
    assert len(audit.pages) == 3 * 17
    assert not audit.findings, "\n\n".join(audit.findings)


def test_the_500_page_passes_axe_in_every_language(browser, make_app, smtp):
    """A fault of ours (the embedded CRM's file damaged), on a page that reads it every time."""
    app = make_app(append='[resilience]\ncache = "none"\n')
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the error page answers
    audit = Audit()
    with serve(app) as base:
        pages = []
        for language in LANGUAGES:
            context, page = new_page(browser, language)
            sign_in(page, base, smtp)
            pages.append((context, page, language))
        crm_file = Path(app.instance_path) / "demo-crm.sqlite3"
        for leftover in crm_file.parent.glob("demo-crm.sqlite3-*"):
            leftover.unlink()
        crm_file.write_bytes(b"not a database" * 100)
        for context, page, language in pages:
            answer = page.goto(base + "/profile/")
            assert answer.status == 500
            assert page.locator("html").get_attribute("lang") == language
            audit.check(page, f"500 [{language}]")
            context.close()
    assert not audit.findings, "\n\n".join(audit.findings)


LONG = "ane.etxeberria.goikoetxea.arrizabalaga.urdangarin@elkarteenfederazioarenbulegoa.example.org"


def test_a_long_address_fits_a_320_pixel_screen(browser, make_app, smtp):
    app = make_app()
    crm = delivery(app).crm
    contact = crm.create_contact(LONG, "Ane")
    crm.apply(Change(contact.ref, LONG, fields=(FieldUpdate(FieldRef("first_name"), "Ane"),)))
    context, page = new_page(browser, "eu", viewport=NARROWEST)
    def fits(name: str) -> None:
        assert LONG.split("@")[0] in page.locator("main").inner_text().replace("\n", ""), name
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 320, name

    with serve(app) as base:
        ask_for_a_link(page, base, LONG)
        page.wait_for_url("**/sign-in/sent")
        fits("link sent")
        page.goto(link_in(smtp.wait_for(LONG)[-1]))
        page.locator("main form button[type=submit]").click()
        page.wait_for_url("**/profile/")
        fits("profile")
    context.close()


@pytest.mark.parametrize("javascript", [True, False])
def test_the_save_confirmation_is_in_the_title_and_takes_the_focus(browser, make_app, smtp,
                                                                     javascript):
    context, page = new_page(browser, "es", javascript=javascript)
    with serve(make_app()) as base:
        sign_in(page, base, smtp)
        assert page.title().startswith("Tus preferencias")
        page.locator("input[name=first_name]").fill("Miren")
        page.locator(".actions button[value=save]").click()
        page.locator(".message-success").wait_for()
        assert page.title().startswith("Tus cambios se han guardado.")
        if javascript:  # read out at once where scripts run
            assert page.evaluate("() => document.activeElement.id") == "messages"
    context.close()


@pytest.mark.parametrize("javascript", [True, False])
def test_an_error_summary_link_shows_the_fields_label(browser, make_app, smtp, javascript):
    context, page = new_page(browser, "en", javascript=javascript, viewport=PHONE)
    with serve(make_app()) as base:
        sign_in(page, base, smtp)
        page.goto(base + "/profile/?lang=en")
        page.locator("input[name=birth_date]").fill("2099-01-01")
        page.locator(".actions button[value=save]").click()
        page.locator("#error-summary").wait_for()
        page.locator("#error-summary a[href='#birth_date']").click()
        page.wait_for_timeout(200)
        label_top = page.locator("label[for=birth_date]").evaluate(
            "label => label.getBoundingClientRect().top")
        assert 0 <= label_top < PHONE["height"] / 2
        if javascript:
            assert page.evaluate("() => document.activeElement.id") == "birth_date"
    context.close()


def test_select_all_does_not_look_like_save(browser, make_app, smtp):
    context, page = new_page(browser, "es")
    with serve(make_app()) as base:
        sign_in(page, base, smtp)

        def look(selector: str) -> list[str]:
            return page.locator(selector).first.evaluate(
                "b => { const s = getComputedStyle(b); return [s.backgroundColor, s.fontWeight]; }")

        save, select_all = look(".actions button[value=save]"), look("button.select-all")
        assert save[0] != "rgba(0, 0, 0, 0)" and select_all[0] == "rgba(0, 0, 0, 0)"
        assert int(select_all[1]) < int(save[1])
    context.close()


@pytest.mark.parametrize("javascript", [True, False])
def test_changing_language_keeps_what_was_typed(browser, make_app, smtp, javascript):
    context, page = new_page(browser, "es", javascript=javascript)
    app = make_app()
    with serve(app) as base:
        sign_in(page, base, smtp)
        page.locator("input[name=first_name]").fill("Miren")
        page.get_by_role("button", name="Euskara").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "eu"
        assert page.locator("input[name=first_name]").input_value() == "Miren"
        assert "Oraindik ez da ezer gorde" in page.locator("main").inner_text()
        page.locator(".actions button[value=save]").click()
        page.locator(".message-success").wait_for()
    context.close()
    crm = delivery(app).crm
    values = crm.fetch_profile(crm.find_contact("demo@example.org"), [FieldRef("first_name")], [])
    assert values.values["first_name"] == "Miren"


def test_leaving_with_a_reason_and_coming_back(browser, make_app, smtp):
    context, page = new_page(browser, "es", viewport=PHONE)
    app = make_app()
    crm = delivery(app).crm
    contact = crm.find_contact("demo@example.org")
    weekly = ItemRef("list", "1")
    with serve(app) as base:
        sign_in(page, base, smtp)
        page.get_by_role("link", name="Darme de baja de todo").click()
        page.wait_for_url("**/profile/unsubscribe-all")
        page.get_by_label("¿Por qué te vas? (opcional)").select_option("too_many")
        page.get_by_label("¿Algo más que quieras contarnos?").fill("Demasiados, gracias.")
        page.get_by_role("button", name="Sí, darme de baja de todo").click()
        page.wait_for_url("**/profile/unsubscribed")
        main = page.locator("main").inner_text()
        assert "Qué pasa ahora" in main and "Boletín semanal" in main
        assert re.search(r"Seguirás recibiendo: Avisos de cuota y renovación", main)
        assert weekly not in crm.fetch_profile(contact, [], [weekly]).subscribed
        page.get_by_role("button", name="Deshacer: suscribirme de nuevo").click()
        page.wait_for_url("**/profile/")
        assert page.locator(".message-success").inner_text().startswith("Te damos la bienvenida")
        assert page.is_checked("input[name=sub_weekly]")
    context.close()
    assert weekly in crm.fetch_profile(contact, [], [weekly]).subscribed
    notes = crm.notes_of(contact.ref)
    assert any("Demasiados, gracias." in note["body"] for note in notes)
