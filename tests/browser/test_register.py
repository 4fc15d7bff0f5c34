"""The register page as people see it: axe-core's WCAG 2.1 AA rules in
Spanish and Basque at phone and desktop widths, with and without errors,
and registering done with the keyboard alone."""

from __future__ import annotations

import re

import pytest

from portal.delivery import delivery
from tests.browser.flows import DESKTOP, PHONE, check_page, focus_by_tab
from tests.support.live import serve
from tests.web.test_register import REGISTER

NEW = "miren.new@example.org"


@pytest.mark.parametrize("language", ["es", "eu"])
def test_registering_passes_axe_and_works_by_keyboard(browser, make_app, smtp, artifacts,
                                                       language):
    folder = artifacts / "register"
    folder.mkdir(exist_ok=True)
    context = browser.new_context(locale=f"{language}-ES", viewport=PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    app = make_app(append=REGISTER)
    with serve(app) as base:
        page.goto(base + "/")
        page.locator("input[type=email]").fill(NEW)
        page.locator("form[action$='/sign-in'] button[type=submit]").click()
        page.wait_for_url("**/sign-in/sent")
        body = smtp.wait_for(NEW)[-1].get_body(("plain",)).get_content()
        page.goto(re.search(r"https?://\S+/register/\S+", body).group(0))
        assert page.locator("html").get_attribute("lang") == language
        check_page(page, folder, f"register-{language}")
        assert not page.locator("input[type=checkbox]:checked").count()  # nothing pre-ticked
        page.locator("#register-form button[value=register]").click()
        page.locator("#error-summary").wait_for()
        check_page(page, folder, f"register-errors-{language}")
        page.set_viewport_size(DESKTOP)
        focus_by_tab(page, "#first_name")
        page.keyboard.type("Miren")
        focus_by_tab(page, "#sub_weekly")
        page.keyboard.press("Space")
        focus_by_tab(page, "#accept")
        page.keyboard.press("Space")
        focus_by_tab(page, "#register-form button[value=register]")
        page.keyboard.press("Enter")
        page.wait_for_url("**/profile/")
        assert page.locator("input[name=sub_weekly]").is_checked()
    contact = delivery(app).crm.find_contact(NEW)
    assert contact is not None and contact.name == "Miren"
    context.close()
