"""The WordPress login in a real browser, against the fake "OpenID Connect
Server" provider: the member presses the button, consents, and lands on their
preferences; refusing consent leads to a clear, accessible page."""

from __future__ import annotations

from tests.browser.flows import PHONE, axe_violations
from tests.fakes.wordpress import Member
from tests.wordpress.conftest import wordpress_login  # noqa: F401 (fixture)


def test_member_signs_in_with_wordpress_in_the_browser(wordpress_login, context):  # noqa: F811
    with wordpress_login("oidc") as dance:
        page = context.new_page()
        page.goto(dance.portal + "/")
        page.get_by_role("link", name="Demo Elkartea").click()
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url(dance.portal + "/profile/")
        assert page.locator("#first_name").input_value() == "Ane"


def test_refused_consent_and_unknown_member_pages(wordpress_login, context, artifacts):  # noqa: F811
    with wordpress_login("oidc") as dance:
        page = context.new_page()
        page.set_viewport_size(PHONE)
        page.goto(dance.portal + "/wordpress/login")
        page.get_by_role("button", name="Cancel").click()
        page.wait_for_url(dance.portal + "/wordpress/problem")
        assert page.get_by_role("alert").is_visible()
        page.screenshot(path=str(artifacts / "wordpress-denied-phone.png"), full_page=True)
        report = axe_violations(page)
        assert not report, report
        # Another language shows the same page, not a replayed callback.
        assert page.get_by_role("alert").get_attribute("data-reason") == "denied"
        page.get_by_role("link", name="Euskara").click()
        assert page.locator("html").get_attribute("lang") == "eu"
        assert page.get_by_role("alert").get_attribute("data-reason") == "denied"

        dance.provider.provider.member = Member(user_login="miren", email="miren@example.org")
        page.get_by_role("link", name="Demo Elkartea").click()  # "Try again with …"
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url(dance.portal + "/wordpress/problem")
        assert "miren@example.org" in page.locator("main").inner_text()
        page.screenshot(path=str(artifacts / "wordpress-no-contact-phone.png"), full_page=True)
        report = axe_violations(page)
        assert not report, report
