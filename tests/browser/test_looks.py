"""The sign-in and profile pages as people see them: screenshots in es and eu
at phone and desktop widths (saved under test-artifacts/), axe-core's WCAG 2.1
AA rules, and the whole flow with the keyboard alone."""

from __future__ import annotations

import pytest

from tests.browser.flows import DESKTOP, PHONE, axe_violations, focus_by_tab, sign_in
from tests.support.live import serve
from tests.support.smtp import link_in

# The sign-in page with its second door; the provider is never called here.
WORDPRESS_DOOR = ('[wordpress]\nclient_id = "portal"\n'
                  'discovery_url = "http://127.0.0.1:9/.well-known/openid-configuration"\n')


@pytest.mark.parametrize("language", ["es", "eu"])
def test_screenshots_and_accessibility_of_sign_in_and_profile(browser, make_app, smtp, artifacts,
                                                              language):
    folder = artifacts / "screenshots"
    folder.mkdir(exist_ok=True)
    context = browser.new_context(locale=f"{language}-ES", viewport=PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    with serve(make_app(append=WORDPRESS_DOOR)) as base:
        page.goto(base + "/")
        assert page.locator("html").get_attribute("lang") == language
        assert page.locator("a.wordpress-button").is_visible()
        for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            page.screenshot(path=str(folder / f"sign-in-{language}-{name}.png"), full_page=True)
            assert not axe_violations(page), axe_violations(page)
            # Nothing overflows sideways at this width.
            assert page.evaluate("() => document.documentElement.scrollWidth") <= size["width"]
        sign_in(page, base, smtp)
        for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            page.screenshot(path=str(folder / f"profile-{language}-{name}.png"), full_page=True)
            report = axe_violations(page)
            assert not report, report
            assert page.evaluate("() => document.documentElement.scrollWidth") <= size["width"]
    context.close()


def test_whole_flow_with_the_keyboard_alone(context, make_app, smtp):
    page = context.new_page()
    with serve(make_app()) as base:
        page.goto(base + "/")
        focus_by_tab(page, "input[type=email]")
        page.keyboard.type("demo@example.org")
        page.keyboard.press("Enter")
        page.wait_for_url("**/sign-in/sent")
        page.goto(link_in(smtp.wait_for("demo@example.org")[-1]))
        focus_by_tab(page, "main form button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_url("**/profile/")

        # Tick a subscription with Space, then save with Enter.
        box = "input[type=checkbox][name=sub_courses]"
        before = page.is_checked(box)
        focus_by_tab(page, box)
        page.keyboard.press("Space")
        assert page.is_checked(box) is not before
        focus_by_tab(page, "button[name=action][value=save]")
        page.keyboard.press("Enter")
        page.locator(".message-success").wait_for()
        assert page.is_checked(box) is not before
        # The focus is visible where the keyboard is.
        focus_by_tab(page, "button[name=action][value=save]")
        outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"


THEME = '''[theme]
logo = "img/weekly.svg"
logo_alt = "Demo Elkartea"

[theme.properties]
accent = "#8a1538"
radius = "2px"
font = 'Georgia, "DejaVu Serif", serif'
'''


def test_the_host_sites_look_applies_without_breaking_the_policy(context, make_app, artifacts):
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    with serve(make_app(append=THEME)) as base:
        page.goto(base + "/")
        button = page.locator("form[action$='/sign-in'] button[type=submit]")
        look = button.evaluate("b => { const s = getComputedStyle(b); "
                               "return [s.backgroundColor, s.borderTopLeftRadius, s.fontFamily]; }")
        assert look[0] == "rgb(138, 21, 56)"
        assert look[1] == "2px"
        assert look[2].startswith("Georgia")
        logo = page.get_by_role("img", name="Demo Elkartea")
        assert logo.is_visible()
        assert logo.evaluate("img => img.naturalWidth") > 0
        page.screenshot(path=str(artifacts / "themed-sign-in.png"))
        report = axe_violations(page)
        assert not report, report
    assert not refused, refused
