"""What a contact does in the browser, shared by the browser tests."""

from __future__ import annotations

from tests.support.smtp import Inbox, link_in

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def sign_in(page, base: str, smtp: Inbox, email: str = "demo@example.org") -> None:
    """Ask for a link on the sign-in page, open it from the email, press the button."""
    before = len(smtp.sent_to(email))
    page.goto(base + "/")
    page.locator("input[type=email]").fill(email)
    page.locator("form[action$='/sign-in'] button[type=submit]").click()
    page.wait_for_url("**/sign-in/sent")
    page.goto(link_in(smtp.wait_for(email, count=before + 1)[-1]))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/profile/")


def focus_by_tab(page, selector: str, limit: int = 60, within=None) -> None:
    """Press Tab until `selector` has the focus, as a keyboard user would;
    `within` is the frame that should hold it (the page itself by default)."""
    document = within or page
    for _ in range(limit):
        page.keyboard.press("Tab")
        if document.evaluate("s => document.hasFocus() && !!document.activeElement"
                             " && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def axe_violations(page) -> str:
    """axe-core's WCAG 2.1 A/AA report for the page, or "" when it finds nothing."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG_21_AA)
    return results.generate_report() if results.violations_count else ""


def check_page(page, folder, name: str) -> None:
    """Screenshots and axe at phone and desktop widths, nothing overflowing
    sideways; fail with axe's report."""
    for width, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
        report = axe_violations(page)
        assert not report, f"{name} at {width}: {report}"
        assert page.evaluate("() => document.documentElement.scrollWidth") <= size["width"], name
