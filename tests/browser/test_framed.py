"""The portal framed by a WordPress page on another origin: sign in by the
emailed link inside the frame, edit a field, see the confirmation, and the
frame's height follows the content."""

from __future__ import annotations

import re
import time

import pytest
import requests

from tests.browser.conftest import need
from tests.browser.flows import focus_by_tab
from tests.browser.host import serve_host
from tests.support.live import serve
from tests.support.smtp import free_port, link_in

FRAME = ".preference-portal-frame"  # the iframe both snippets write


def embed_section(host: str) -> str:
    return (f'[embed]\nframe_ancestors = ["{host}"]\n'
            f'landing_url = "{host}/preferencias/"\n')


def frame_height(page) -> int:
    return page.eval_on_selector(FRAME, "f => f.getBoundingClientRect().height")


def content_height(frame) -> int:
    return frame.evaluate("() => Math.ceil(document.documentElement.getBoundingClientRect().height)")


def wait_frame_fits(page, frame, timeout: float = 5.0) -> None:
    """Wait until the frame is as tall as the portal's content (the host cannot
    read the framed document: only the portal's message can size the frame).
    The snippet keeps a min-height of 480px for short pages."""
    deadline = time.monotonic() + timeout
    while True:
        want = max(content_height(frame), 480)
        if abs(frame_height(page) - want) <= 2:
            return
        assert time.monotonic() < deadline, f"frame {frame_height(page)}px, content {want}px"
        page.wait_for_timeout(50)


@pytest.mark.parametrize("snippet", ["block", "shortcode"])
def test_contact_signs_in_and_edits_inside_a_wordpress_frame(make_app, smtp, context, artifacts,
                                                             snippet):
    php = need("php", "php-cli") if snippet == "shortcode" else ""
    host_port = free_port()
    host_origin = f"http://localhost:{host_port}"
    app = make_app(append=embed_section(host_origin))
    with serve(app) as portal_url, serve_host(portal_url, port=host_port, php=php) as host:
        # The headers allow this host, and only it, to frame the portal.
        answer = requests.get(portal_url + "/", timeout=5)
        assert f"frame-ancestors {host_origin}" in answer.headers["Content-Security-Policy"]
        assert "X-Frame-Options" not in answer.headers
        cookie = answer.headers["Set-Cookie"]
        assert "SameSite=None" in cookie and "Secure" in cookie and "Partitioned" in cookie

        page = context.new_page()
        page.goto(host + "/preferencias/")
        frame = page.frame_locator(FRAME)
        frame.locator("input[type=email]").fill("demo@example.org")
        frame.locator("form[action$='/sign-in'] button[type=submit]").click()
        frame.locator("h1").wait_for()
        portal_frame = page.frame(url=re.compile(r"/sign-in/sent$"))
        assert portal_frame is not None, [f.url for f in page.frames]

        # The emailed link opens the WordPress page, which frames the link's page.
        link = link_in(smtp.wait_for("demo@example.org")[0])
        assert link.startswith(host + "/preferencias/?portal_path=/link/")
        page.goto(link)
        frame.locator("form button[type=submit]").click()
        frame.locator("form.profile-form").wait_for()
        portal_frame = page.frame(url=re.compile(r"/profile/$"))
        assert portal_frame is not None
        wait_frame_fits(page, portal_frame)
        tall = frame_height(page)
        assert tall > 1200  # the profile form, not the 900px the snippet starts with

        frame.locator("#first_name").fill("Ane Miren")
        frame.locator("button[name=action][value=save]").click()
        confirmation = frame.locator(".message-success[role=status], .messages[role=status] .message-success")
        confirmation.first.wait_for()
        assert frame.locator("#first_name").input_value() == "Ane Miren"
        # The save button was at the bottom; the new page's top (with the
        # confirmation) is brought into view on the host page.
        page.wait_for_function("s => { const r = document.querySelector(s).getBoundingClientRect();"
                               " return r.top > -2 && r.top < innerHeight; }", arg=FRAME)
        page.screenshot(path=str(artifacts / f"framed-profile-{snippet}.png"))

        # The contact's page on the host is only as tall as the portal's content.
        portal_frame = page.frame(url=re.compile(r"/profile/$"))
        wait_frame_fits(page, portal_frame)

        # Signing out leads to the short sign-in page: the frame shrinks with it.
        frame.locator("form[action$='/sign-out'] button").click()
        frame.locator("input[type=email]").wait_for()
        page.wait_for_function("h => document.querySelector('.preference-portal-frame')"
                               ".getBoundingClientRect().height < h", arg=tall)
        start_frame = next(f for f in page.frames if f.url.startswith(portal_url))
        wait_frame_fits(page, start_frame)


def test_the_whole_flow_inside_the_frame_with_the_keyboard_alone(make_app, smtp, context):
    host_port = free_port()
    host_origin = f"http://localhost:{host_port}"
    app = make_app(append=embed_section(host_origin))
    with serve(app) as portal_url, serve_host(portal_url, port=host_port) as host:
        page = context.new_page()

        def portal_frame(path: str):
            """The framed portal once it shows the page at `path` (a pattern)."""
            page.frame_locator(FRAME).locator("main").wait_for()
            frame = next(f for f in page.frames if f.url.startswith(portal_url))
            frame.wait_for_url(re.compile(re.escape(portal_url) + path + r"(\?.*)?$"))
            return frame

        # From the top of the WordPress page, Tab walks into the frame.
        page.goto(host + "/preferencias/")
        focus_by_tab(page, "input[type=email]", within=portal_frame("/"))
        page.keyboard.type("demo@example.org")
        page.keyboard.press("Enter")
        portal_frame("/sign-in/sent")

        page.goto(link_in(smtp.wait_for("demo@example.org")[-1]))
        focus_by_tab(page, "main form button[type=submit]", within=portal_frame("/link/[^?]+"))
        page.keyboard.press("Enter")
        profile = portal_frame("/profile/")

        box = "input[type=checkbox][name=sub_courses]"
        before = profile.is_checked(box)
        focus_by_tab(page, box, limit=80, within=profile)
        page.keyboard.press("Space")
        save = "button[name=action][value=save]"
        focus_by_tab(page, save, limit=80, within=profile)
        page.keyboard.press("Enter")
        profile = portal_frame("/profile/")
        profile.locator(".message-success").wait_for()
        assert profile.is_checked(box) is not before
        # The focus is visible where the keyboard is, inside the frame too.
        focus_by_tab(page, save, limit=80, within=profile)
        assert profile.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"


def test_other_origins_may_not_frame_the_portal(make_app, context):
    allowed = f"http://localhost:{free_port()}"
    app = make_app(append=embed_section(allowed))
    with serve(app) as portal_url, serve_host(portal_url, host="localhost") as stranger:
        page = context.new_page()
        page.goto(stranger + "/preferencias/")
        page.wait_for_timeout(500)
        framed = [f for f in page.frames if f.url.startswith(portal_url)]
        # Chromium refuses the framed page: no portal document loads in the frame.
        assert not any(f.locator("input[type=email]").count() for f in framed)


def test_without_embed_settings_framing_is_denied(app):
    with serve(app) as portal_url:
        answer = requests.get(portal_url + "/", timeout=5)
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert "Partitioned" not in answer.headers["Set-Cookie"]


def test_frame_speaks_the_wordpress_pages_language(make_app, context):
    host_port = free_port()
    app = make_app(append=embed_section(f"http://localhost:{host_port}"))
    with serve(app) as portal_url, serve_host(portal_url, port=host_port, language="eu") as host:
        page = context.new_page()  # the browser itself asks for Spanish
        page.goto(host + "/preferencias/")
        page.frame_locator(FRAME).locator("html[lang=eu] input[type=email]").wait_for()
