"""The plugin in a real WordPress (Debian's 6.1), driven in a real browser:
the administrator uploads the zip, fills the settings page, checks the
connection and adds the block; a member logged in to WordPress sees their
own preferences in the frame with no click and saves a change that reaches
the CRM; a visitor sees the emailed-link sign-in in the same frame."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

from portal.config.wordpress import ASSERTION_SECRET_ENV as SECRET_ENV
from portal.crm.base import FieldRef
from portal.delivery import delivery
from portal.shipped import SOURCE_TREE as ROOT
from tests.support.live import serve
from tests.support.smtp import free_port
from tests.wordpress.assertions import SECRET, door_section
from tests.wordpress.site import ADMIN, WordPressSite

FRAME = ".preference-portal-frame"
MEMBER = ("ane", "ane-password-for-tests")


@dataclass
class Setup:
    site: WordPressSite
    portal: str
    app: Flask
    zip: Path


def build_zip(folder: Path) -> Path:
    done = subprocess.run([sys.executable, str(ROOT / "wordpress" / "build.py"), "zip",
                           str(folder / "preference-portal.zip")], capture_output=True,
                          text=True, check=True, timeout=60)
    return Path(done.stdout.strip())


@pytest.fixture
def setup(make_app, tmp_path, monkeypatch) -> Iterator[Setup]:
    """The portal (assertion door on, this WordPress allowed to frame it) and
    a fresh WordPress with the shared secret in its configuration."""
    monkeypatch.setenv(SECRET_ENV, SECRET)
    port = free_port()
    wordpress = f"http://localhost:{port}"
    app = make_app(append=door_section(site=wordpress)
                   + f'\n[embed]\nframe_ancestors = ["{wordpress}"]\n')
    with serve(app) as portal:
        site = WordPressSite(tmp_path / "wordpress", secret=SECRET, port=port).start()
        try:
            site.add_member(*MEMBER[:1], "demo@example.org", MEMBER[1], name="Ane Etxeberria")
            yield Setup(site, portal, app, build_zip(tmp_path))
        finally:
            site.stop()
    assert not site.our_log_lines(), site.our_log_lines()


def log_in(page, site: WordPressSite, user: tuple[str, str]) -> None:
    page.goto(site.url + "/wp-login.php")
    page.fill("#user_login", user[0])
    page.fill("#user_pass", user[1])
    page.click("#wp-submit")
    page.wait_for_url(re.compile(r"/wp-admin/"))


def install_and_configure(page, setup: Setup) -> None:
    site = setup.site
    log_in(page, site, ADMIN)
    # Plugins -> Add New -> Upload Plugin.
    page.goto(site.url + "/wp-admin/plugin-install.php")
    page.click(".upload-view-toggle")
    page.set_input_files("#pluginzip", str(setup.zip))
    page.click("#install-plugin-submit")
    page.get_by_text("Plugin installed successfully.").wait_for()
    page.get_by_role("link", name="Activate Plugin").click()
    page.wait_for_url(re.compile(r"/wp-admin/plugins\.php"))
    assert page.locator("tr[data-slug='preference-portal'].active").count() == 1

    # The plugin's Settings link leads to Settings -> Preference portal.
    page.locator("tr[data-slug='preference-portal']").get_by_role("link", name="Settings").click()
    assert page.locator("#adminmenu .current").get_by_text("Preference portal").count() == 1
    page.fill("#preference-portal-url", setup.portal)
    page.click("#submit")
    page.get_by_text("Settings saved.").wait_for()
    page.get_by_role("button", name="Check connection").click()
    check = page.locator(".preference-portal-check")
    check.wait_for()
    assert "All is well." in check.inner_text(), check.inner_text()
    assert check.locator("li.problem").count() == 0


def add_block_to_new_page(page, site: WordPressSite) -> str:
    """Make a page with the block in the block editor; returns the page's address."""
    page.goto(site.url + "/wp-admin/post-new.php?post_type=page")
    guide = page.locator(".edit-post-welcome-guide")
    guide.or_(page.get_by_label("Add title")).first.wait_for()
    if guide.is_visible():
        page.keyboard.press("Escape")
    page.get_by_label("Add title").fill("Preferencias")
    page.get_by_role("button", name="Toggle block inserter").click()
    page.get_by_placeholder("Search").fill("Preference portal")
    page.locator(".editor-block-list-item-preference-portal-portal").click()
    placeholder = page.locator(".preference-portal-placeholder")
    placeholder.wait_for()
    assert "shows here on the published page" in placeholder.inner_text()
    page.locator(".editor-post-publish-panel__toggle").click()
    page.locator(".editor-post-publish-button").click()
    page.locator(".post-publish-panel__postpublish").wait_for()
    post_id = re.search(r"[?&]post=(\d+)", page.url)
    assert post_id, page.url
    return f"{site.url}/?page_id={post_id.group(1)}"


def test_admin_installs_member_edits_visitor_signs_in(setup, browser, artifacts):
    admin = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    admin.set_default_timeout(45_000)  # the block editor is slow on a busy machine
    page = admin.new_page()
    install_and_configure(page, setup)
    page.screenshot(path=str(artifacts / "wordpress-plugin-settings.png"), full_page=True)
    address = add_block_to_new_page(page, setup.site)
    admin.close()

    # A member logs in to WordPress and opens the page: their preferences, no click.
    member = browser.new_context(locale="es-ES", viewport={"width": 1280, "height": 900})
    member.set_default_timeout(45_000)  # the block editor is slow on a busy machine
    page = member.new_page()
    log_in(page, setup.site, MEMBER)
    page.goto(address)
    frame = page.frame_locator(FRAME)
    frame.locator("html[lang=en] form.profile-form").wait_for()  # the site's language, English
    assert frame.locator("#first_name").input_value() == "Ane"
    assert page.locator(FRAME).get_attribute("title") == "Your preferences"
    assert not page.locator("form.preference-portal-enter").is_visible()
    page.screenshot(path=str(artifacts / "wordpress-plugin-member.png"), full_page=True)
    frame.locator("#first_name").fill("Ane Miren")
    frame.locator("button[name=action][value=save]").click()
    frame.locator(".message-success").first.wait_for()
    crm = delivery(setup.app).crm
    contact = crm.find_contact("demo@example.org")
    assert crm.fetch_profile(contact, [FieldRef("first_name")], []).values["first_name"] == \
        "Ane Miren"
    member.close()

    # The assertion travelled in a POST body only: no address WordPress served has it.
    served = (setup.site.folder / "php-server.log").read_text()
    assert "/wordpress/enter" not in served and "assertion" not in served

    # A visitor who is not logged in: the emailed-link sign-in in the same frame.
    visitor = browser.new_context(locale="es-ES")
    page = visitor.new_page()
    page.goto(address)
    frame = page.frame_locator(FRAME)
    frame.locator("form[action$='/sign-in'] input[type=email]").wait_for()
    assert page.locator("form.preference-portal-enter").count() == 0
    visitor.close()


def test_without_javascript_the_member_presses_continue(setup, browser):
    site = setup.site
    zipfile.ZipFile(setup.zip).extractall(site.content / "plugins")
    site.php(f"""
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        activate_plugin( 'preference-portal/preference-portal.php' );
        update_option( 'preference_portal_settings', array( 'portal_url' => '{setup.portal}' ) );
        echo wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'publish',
            'post_title' => 'Preferencias', 'post_content' => '[preference_portal]' ) );
    """)
    page_id = site.php("echo get_page_by_path( 'preferencias' )->ID;").strip()
    member = browser.new_context(locale="es-ES", java_script_enabled=False)
    member.set_default_timeout(45_000)  # the block editor is slow on a busy machine
    page = member.new_page()
    log_in(page, site, MEMBER)
    page.goto(f"{site.url}/?page_id={page_id}")
    page.get_by_role("button", name="Continue to your preferences").click()
    page.frame_locator(FRAME).locator("form.profile-form #first_name").wait_for()
    member.close()
