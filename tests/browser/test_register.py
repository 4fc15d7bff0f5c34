"""The register page as people see it: axe-core's WCAG 2.1 AA rules in
Spanish and Basque at phone and desktop widths, with and without errors,
and registering done with the keyboard alone."""

from __future__ import annotations

import re

import pytest

from portal.delivery import delivery
from tests.browser.flows import DESKTOP, PHONE, axe_violations, focus_by_tab
from tests.support.live import serve
from tests.web.test_register import REGISTER

NEW = "miren.new@example.org"


def check(page, folder, name: str) -> None:
    """Screenshots and axe at both widths; fail with axe's report."""
    for width, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
        report = axe_violations(page)
        assert not report, f"{name} at {width}: {report}"
        assert page.evaluate("() => document.documentElement.scrollWidth") <= size["width"], name


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
        check(page, folder, f"register-{language}")
        assert not page.locator("input[type=checkbox]:checked").count()  # nothing pre-ticked
        page.locator("#register-form button[value=register]").click()
        page.locator("#error-summary").wait_for()
        check(page, folder, f"register-errors-{language}")
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
