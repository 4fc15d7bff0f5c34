"""The marketing person's whole job in the browser, on the embedded CRM:
sign in as staff, create a CRM field and a list, expose them with texts in
three languages, preview in Basque at a phone's width, publish; a contact
in another browser sees them on their next page and saves them into the
CRM. Then a rollback takes them away again. The workspace works without
JavaScript, by keyboard alone, and axe finds nothing on any of its pages."""

from __future__ import annotations

import time

import pytest

from portal.crm.base import FieldRef, ItemRef
from portal.delivery import delivery
from portal.staff.published import CHECK_EVERY
from tests.browser.flows import DESKTOP, PHONE, axe_violations, focus_by_tab, sign_in
from tests.staff.conftest import PUBLISHER, STAFF_LINK
from tests.support.live import serve


def staff_sign_in(page, base: str, smtp, email: str = PUBLISHER) -> None:
    before = len(smtp.sent_to(email))
    page.goto(base + "/staff/")
    page.locator("input[type=email]").fill(email)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/staff/sign-in/sent")
    body = smtp.wait_for(email, count=before + 1)[-1].get_body(("plain",)).get_content()
    page.goto(STAFF_LINK.search(body).group(0))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/staff/draft")


def fill_texts(page, name: str, es: str, eu: str, en: str) -> None:
    for lang, text in (("es", es), ("eu", eu), ("en", en)):
        page.locator(f"#{name}_{lang}").fill(text)


def reload_until(page, text: str, present: bool = True) -> None:
    """Reload the contact's page until `text` is there (or gone): the new
    version reaches every worker within the cache's check interval."""
    deadline = time.monotonic() + CHECK_EVERY + 5
    while (text in page.content()) != present:
        assert time.monotonic() < deadline, f"{text!r} {'never came' if present else 'stayed'}"
        time.sleep(0.3)
        page.reload()


@pytest.fixture
def portal(make_app):
    app = make_app()
    with serve(app) as base:
        yield app, base


def test_marketing_exposes_a_new_field_and_list_and_a_contact_saves_them(browser, portal, smtp,
                                                                         artifacts):
    app, base = portal
    # The workspace needs no script: the marketing person's browser runs none.
    marketing = browser.new_context(locale="es-ES", viewport=DESKTOP, java_script_enabled=False)
    contact_browser = browser.new_context(locale="es-ES", viewport=PHONE)
    for context in (marketing, contact_browser):
        context.set_default_timeout(10_000)
    staff, contact = marketing.new_page(), contact_browser.new_page()
    sign_in(contact, base, smtp)  # a contact already on their page before anything is published
    assert "Horas de voluntariado" not in contact.content()

    staff_sign_in(staff, base, smtp)
    staff.goto(base + "/staff/catalogue")
    staff.locator("#new-field-key").fill("volunteer_hours")
    staff.locator("#new-field-label").fill("Volunteer hours")
    staff.locator("#new-field-type").select_option("text")
    staff.locator("#create-field button[type=submit]").click()
    assert "ya existe en el CRM" in staff.locator(".messages").inner_text()
    staff.locator("#field-volunteer_hours button[type=submit]").click()
    staff.wait_for_url("**/staff/draft/fields/*")
    fill_texts(staff, "label", "Horas de voluntariado", "Boluntariotza-orduak", "Volunteer hours")
    staff.locator("main form button[type=submit]").last.click()
    assert "Guardado en tu borrador." in staff.locator(".messages").inner_text()

    staff.goto(base + "/staff/catalogue")
    staff.locator("#new-list-key").fill("4")
    staff.locator("#new-list-label").fill("Members' magazine")
    staff.locator("#create-list button[type=submit]").click()
    staff.locator("#list-4 select").select_option("0")
    staff.locator("#list-4 button[type=submit]").click()
    staff.wait_for_url("**/staff/draft/groups/0/items/*")
    fill_texts(staff, "label", "Revista de socios", "Bazkideen aldizkaria", "Members' magazine")
    staff.locator("main form button[type=submit]").last.click()

    staff.goto(base + "/staff/preview?in_language=eu&width=phone")
    frame = staff.frame_locator("iframe.preview-frame")
    assert frame.locator("label[for=volunteer_hours]").inner_text() == "Boluntariotza-orduak"
    assert frame.get_by_text("Bazkideen aldizkaria").is_visible()
    assert staff.locator("iframe.preview-frame").bounding_box()["width"] == pytest.approx(394, abs=6)
    staff.screenshot(path=str(artifacts / "workspace-preview-eu-phone.png"), full_page=True)

    staff.goto(base + "/staff/draft")
    staff.locator("#note").fill("Volunteer hours and the members' magazine")
    staff.locator("#publish button[type=submit]").first.click()
    staff.wait_for_url("**/staff/history")
    assert "Versión 2" in staff.content()

    reload_until(contact, "Horas de voluntariado")
    contact.locator("input[name=volunteer_hours]").fill("12")
    contact.get_by_label("Revista de socios").check()
    contact.locator(".actions button[type=submit]").click()
    assert contact.locator(".message-success").is_visible()
    crm = delivery(app).crm
    who = crm.find_contact("demo@example.org")
    saved = crm.fetch_profile(who, [FieldRef("volunteer_hours")], [ItemRef("list", "4")])
    assert saved.values["volunteer_hours"] == "12"
    assert ItemRef("list", "4") in saved.subscribed
    marketing.close()
    contact_browser.close()


def test_a_rollback_takes_them_away_again(browser, portal, smtp):
    app, base = portal
    crm = delivery(app).crm
    crm.define_field("volunteer_hours", "Volunteer hours", "text")
    marketing = browser.new_context(locale="es-ES", viewport=DESKTOP)
    contact_browser = browser.new_context(locale="es-ES", viewport=PHONE)
    staff, contact = marketing.new_page(), contact_browser.new_page()
    staff_sign_in(staff, base, smtp)
    staff.goto(base + "/staff/catalogue")
    staff.locator("#field-volunteer_hours button[type=submit]").click()
    fill_texts(staff, "label", "Horas de voluntariado", "Boluntariotza-orduak", "Volunteer hours")
    staff.locator("main form button[type=submit]").last.click()
    staff.goto(base + "/staff/draft")
    staff.locator("#publish button[type=submit]").first.click()
    staff.wait_for_url("**/staff/history")
    sign_in(contact, base, smtp)
    reload_until(contact, "Horas de voluntariado")

    staff.goto(base + "/staff/history/1")
    staff.get_by_role("button", name="Publicar de nuevo la versión 1").click()
    staff.wait_for_url("**/staff/history")
    assert "lo mismo que la versión 1" in staff.content()
    reload_until(contact, "Horas de voluntariado", present=False)
    marketing.close()
    contact_browser.close()


def test_the_whole_flow_by_keyboard(browser, portal, smtp):
    _app, base = portal
    context = browser.new_context(locale="es-ES", viewport=DESKTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(base + "/staff/")
    focus_by_tab(page, "input[type=email]")
    page.keyboard.type(PUBLISHER)
    page.keyboard.press("Enter")
    page.wait_for_url("**/staff/sign-in/sent")
    body = smtp.wait_for(PUBLISHER)[-1].get_body(("plain",)).get_content()
    page.goto(STAFF_LINK.search(body).group(0))
    focus_by_tab(page, "main form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/staff/draft")
    focus_by_tab(page, "#fields-0 button[value=down]", limit=120)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#fields-0 strong").inner_text() == "Apellidos"
    focus_by_tab(page, "#fields-0 a.button", limit=120)
    page.keyboard.press("Enter")
    page.wait_for_url("**/staff/draft/fields/0")
    focus_by_tab(page, "#label_eu")
    page.keyboard.press("Control+A")
    page.keyboard.type("Abizenak (biak)")
    focus_by_tab(page, "main form .actions button")
    # The save must land before the next page is asked for, or the browser drops it.
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.goto(base + "/staff/draft")
    focus_by_tab(page, "#note", limit=200)
    page.keyboard.type("Surname first")
    focus_by_tab(page, "#publish button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/staff/history")
    assert "Surname first" in page.content()
    context.close()


PAGES = ["/staff/draft", "/staff/draft/fields/0", "/staff/draft/groups/0",
         "/staff/draft/groups/0/items/0", "/staff/draft/page", "/staff/catalogue",
         "/staff/preview", "/staff/history", "/staff/history/2", "/staff/actions"]


@pytest.mark.parametrize("language", ["es", "eu"])
def test_no_workspace_page_has_an_accessibility_violation(browser, portal, smtp, language):
    _app, base = portal
    context = browser.new_context(locale=f"{language}-ES", viewport=PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(base + "/staff/")
    reports = []
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        page.goto(base + "/staff/")
        reports.append(("/staff/", size["width"], axe_violations(page)))
    staff_sign_in(page, base, smtp)
    # A second version, so that a version page has a change to show; a field missing Basque.
    page.goto(base + "/staff/draft/fields/0")
    page.locator("#label_eu").fill("")
    page.locator("main form .actions button").click()
    page.goto(base + "/staff/draft/fields/1")
    page.locator("#label_es").fill("Apellido")
    page.locator("main form .actions button").click()
    page.goto(base + "/staff/draft/fields/0")
    page.locator("#label_eu").fill("Izena")
    page.locator("main form .actions button").click()
    page.goto(base + "/staff/draft")
    page.locator("#publish button[type=submit]").first.click()
    page.wait_for_url("**/staff/history")
    page.goto(base + "/staff/draft/fields/0")
    page.locator("#label_eu").fill("")  # a problem beside a setting, on the pages below
    page.locator("#max_length").fill("eighty")
    page.locator("main form .actions button").click()
    for path in PAGES:
        for size in (PHONE, DESKTOP):
            page.set_viewport_size(size)
            page.goto(base + path)
            assert f'lang="{language}"' in page.content()[:200]
            reports.append((path, size["width"], axe_violations(page)))
    found = [f"{path} at {width}px:\n{report}" for path, width, report in reports if report]
    assert not found, "\n\n".join(found)
    context.close()
