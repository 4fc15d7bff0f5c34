"""The contact's rights as people see them: axe-core's WCAG 2.1 AA rules on
every new page in Spanish and Basque at phone and desktop widths, nothing
overflowing sideways; and each right exercised with JavaScript off."""

from __future__ import annotations

import pytest

from portal.delivery import delivery
from tests.browser.flows import PHONE, check_page, sign_in
from tests.conftest import deliver_queued
from tests.rights.conftest import link_to
from tests.support.live import serve

NEW = "ane.new@example.org"


@pytest.mark.parametrize("language", ["es", "eu"])
def test_the_rights_pages_pass_axe_at_phone_and_desktop_widths(browser, make_app, smtp,
                                                               artifacts, language):
    folder = artifacts / "rights"
    folder.mkdir(exist_ok=True)
    context = browser.new_context(locale=f"{language}-ES", viewport=PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    app = make_app()
    with serve(app) as base:
        sign_in(page, base, smtp)
        page.locator("input[name=email]").fill(NEW)
        page.locator("button[name=action][value=save]").click()
        page.locator(".message-success").first.wait_for()
        check_page(page, folder, f"profile-after-asking-{language}")
        confirm = link_to(smtp.wait_for(NEW)[-1], "/rights/confirm/")
        page.goto(confirm)
        check_page(page, folder, f"confirm-email-{language}")
        page.locator("main form button[type=submit]").click()
        page.wait_for_url("**/profile/")
        page.locator("input[name=sub_events]").check()
        page.locator("button[name=action][value=save]").click()
        page.locator(".message-success").first.wait_for()
        for path, name in (("/rights/history", "history"), ("/rights/my-data", "my-data"),
                           ("/rights/forget", "forget"), ("/rights/forget/confirm", "forget-confirm")):
            page.goto(base + path)
            assert page.locator("html").get_attribute("lang") == language
            check_page(page, folder, f"{name}-{language}")
        crm = delivery(app).crm
        crm.create_contact("taken@example.org", "Someone Else")
        page.goto(base + "/profile/")
        page.locator("input[name=email]").fill("taken.later@example.org")
        page.locator("button[name=action][value=save]").click()
        page.locator(".message-success").first.wait_for()
        later = link_to(smtp.wait_for("taken.later@example.org")[-1], "/rights/confirm/")
        crm.create_contact("taken.later@example.org", "Someone Else")
        page.goto(later)
        page.locator("main form button[type=submit]").click()
        page.locator("main [role=alert]").wait_for()
        check_page(page, folder, f"address-taken-{language}")
        page.goto(base + "/rights/forget/confirm")
        page.locator("main form button[type=submit]").click()
        page.wait_for_url("**/rights/forgotten")
        check_page(page, folder, f"forgotten-{language}")
    context.close()


def test_every_right_works_without_javascript(browser, make_app, smtp):
    context = browser.new_context(locale="en-GB", java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    app = make_app()
    crm = delivery(app).crm
    with serve(app) as base:
        sign_in(page, base, smtp)
        page.locator("input[name=email]").fill(NEW)
        page.locator("button[name=action][value=save]").click()
        page.goto(link_to(smtp.wait_for(NEW)[-1], "/rights/confirm/"))
        page.locator("main form button[type=submit]").click()
        page.wait_for_url("**/profile/")
        assert crm.find_contact(NEW) is not None
        page.get_by_role("link", name="My history").click()
        assert page.locator("ol.history li").count() == 2  # asked, then changed
        page.goto(base + "/profile/")
        page.get_by_role("link", name="My data").click()
        with page.expect_download() as download:
            page.get_by_role("link", name="Download as a file (JSON)").click()
        assert download.value.suggested_filename.startswith("my-data-")
        page.goto(base + "/profile/")
        deliver_queued(app)  # the first view's newsletter token, written by the queue
        page.get_by_role("link", name="Forget me").click()
        page.get_by_role("link", name="Continue").click()
        page.get_by_role("button", name="Yes, forget me").click()
        page.wait_for_url("**/rights/forgotten")
        assert crm.find_contacts(NEW) == []
    context.close()
