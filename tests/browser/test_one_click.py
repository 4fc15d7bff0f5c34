"""The one-click unsubscribe's pages as people see them: the confirm page a
link in a newsletter opens and the page after its button, with axe-core's
WCAG 2.1 AA rules in Spanish and Basque at phone and desktop widths, nothing
overflowing sideways, and the whole way taken by keyboard, with JavaScript
on and off."""

from __future__ import annotations

import pytest

from tests.browser.flows import PHONE, check_page, focus_by_tab
from tests.support.live import serve
from tests.web.test_one_click import NOTICES, VOLUNTEERING, WEEKLY, issue, one_click_path, subscribed

HEADINGS = {"es": ("Darme de baja de todos vuestros correos", "Te has dado de baja"),
            "eu": ("Eman baja zuen mezu guztietatik", "Baja eman duzu")}


@pytest.mark.parametrize("language", ["es", "eu"])
def test_confirm_and_done_pages_pass_axe_and_work_by_keyboard(browser, make_app, artifacts,
                                                             language):
    folder = artifacts / "one-click"
    folder.mkdir(exist_ok=True)
    app = make_app()
    path = one_click_path(issue(app))
    context = browser.new_context(locale=f"{language}-ES", viewport=PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    with serve(app) as base:
        page.goto(f"{base}{path}?lang={language}")
        assert page.locator("html").get_attribute("lang") == language
        assert page.locator("h1").inner_text() == HEADINGS[language][0]
        check_page(page, folder, f"confirm-{language}")
        assert subscribed(app) == {WEEKLY, NOTICES, VOLUNTEERING}  # opening it changed nothing
        focus_by_tab(page, "main form button[type=submit]")
        page.keyboard.press("Enter")
        page.locator("h1", has_text=HEADINGS[language][1]).wait_for()
        assert page.locator("html").get_attribute("lang") == language
        check_page(page, folder, f"done-{language}")
        assert subscribed(app) == {NOTICES, VOLUNTEERING}
        assert context.cookies() == []  # no session for anyone who unsubscribes
    context.close()


def test_the_way_works_by_keyboard_without_javascript(browser, make_app):
    app = make_app()
    path = one_click_path(issue(app, "jon@example.org", "--item", "events"))
    context = browser.new_context(locale="eu-ES", viewport=PHONE, java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    with serve(app) as base:
        page.goto(base + path)
        focus_by_tab(page, "main form button[type=submit]")
        page.keyboard.press("Enter")
        # Jon reads our email in Spanish: his language, not the browser's.
        page.locator("h1", has_text="Te has dado de baja").wait_for()
        assert "Ya no recibirás «Agenda de eventos»." in page.locator("main").inner_text()
    assert subscribed(app, "jon@example.org") == frozenset()
    context.close()
