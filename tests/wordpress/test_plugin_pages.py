"""The plugin in a real WordPress, over HTTP as a browser without JavaScript
would use it: what members and visitors are served, the full-window entry,
the connection check's words for each problem, translations, uninstall."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests

from portal.config.wordpress import ASSERTION_SECRET_ENV as SECRET_ENV
from portal.shipped import SOURCE_TREE as ROOT
from tests.support.live import serve
from tests.support.smtp import free_port
from tests.wordpress.assertions import SECRET, door_section
from tests.wordpress.site import WordPressSite

MEMBER = ("ane", "ane-password-for-tests")
EDITOR = ("jon", "jon-password-for-tests")
ENTER_FORM = re.compile(r'<form class="preference-portal-enter" method="post" action="([^"]+)" '
                        r'target="([^"]+)"><input type="hidden" name="assertion" value="([^"]+)">')
FRAME = re.compile(r'<iframe name="([^"]+)" class="preference-portal-frame" src="([^"]+)" '
                   r'title="([^"]+)"')


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[WordPressSite]:
    """One WordPress for this module, the plugin installed from its zip and active,
    a page with the block and one with the shortcode, two members."""
    folder = tmp_path_factory.mktemp("wordpress")
    site = WordPressSite(folder, secret=SECRET).start()
    try:
        subprocess.run([sys.executable, str(ROOT / "wordpress" / "build.py"), "zip",
                        str(folder / "plugin.zip")], check=True, capture_output=True, timeout=60)
        zipfile.ZipFile(folder / "plugin.zip").extractall(site.content / "plugins")
        site.php("""
            require_once ABSPATH . 'wp-admin/includes/plugin.php';
            $done = activate_plugin( 'preference-portal/preference-portal.php' );
            if ( is_wp_error( $done ) ) { exit( 1 ); }
            update_option( 'block_page', wp_insert_post( array( 'post_type' => 'page',
                'post_status' => 'publish', 'post_title' => 'Preferencias',
                'post_content' => '<!-- wp:preference-portal/portal {"height":700} /-->' ) ) );
            update_option( 'shortcode_page', wp_insert_post( array( 'post_type' => 'page',
                'post_status' => 'publish', 'post_title' => 'Lehentasunak',
                'post_content' => '[preference_portal height="800"]' ) ) );
        """)
        site.add_member(MEMBER[0], "demo@example.org", MEMBER[1], name="Ane Etxeberria")
        site.add_member(EDITOR[0], "jon@example.org", EDITOR[1], role="editor")
        yield site
    finally:
        site.stop()
    assert not site.our_log_lines(), site.our_log_lines()


@pytest.fixture
def portal_for(make_app, monkeypatch, site):
    """`with portal_for(section) as url:` a portal, set as the plugin's address."""
    @contextmanager
    def running(section: str | None = None) -> Iterator[str]:
        monkeypatch.setenv(SECRET_ENV, SECRET)
        if section is None:
            section = door_section(site=site.url) + f'[embed]\nframe_ancestors = ["{site.url}"]\n'
        with serve(make_app(append=section)) as url:
            set_portal_address(site, url)
            yield url

    return running


def set_portal_address(site: WordPressSite, url: str, languages: str = "array()") -> None:
    site.php(f"""update_option( 'preference_portal_settings', array( 'portal_url' => '{url}',
        'site_origin' => '', 'languages' => {languages} ) );""")


def page_address(site: WordPressSite, which: str = "block_page") -> str:
    return f"{site.url}/?page_id={site.php(f'echo get_option( {which!r} );').strip()}"


def logged_in(site: WordPressSite, user: tuple[str, str]) -> requests.Session:
    browser = requests.Session()
    browser.get(site.url + "/wp-login.php", timeout=10)  # sets WordPress's test cookie
    answer = browser.post(site.url + "/wp-login.php", timeout=10, data={
        "log": user[0], "pwd": user[1], "wp-submit": "Log In", "testcookie": "1"})
    assert any(c.name.startswith("wordpress_logged_in_") for c in browser.cookies), answer.text[:500]
    return browser


def enter_form(page: str) -> tuple[str, str, str]:
    match = ENTER_FORM.search(page)
    assert match, page[-3000:]
    action, target, assertion = (html.unescape(part) for part in match.groups())
    return action, target, assertion


def send(action: str, assertion: str) -> requests.Response:
    """Send the entry form as the browser would, and follow to the page it leads to.
    In iframe mode the session cookie is Secure; these tests speak plain HTTP on
    loopback, so let requests send it back the way a browser does there."""
    browser = requests.Session()
    answer = browser.post(action, data={"assertion": assertion}, timeout=10,
                          allow_redirects=False)
    if answer.status_code != 302:
        return answer
    for cookie in browser.cookies:
        cookie.secure = False
    return browser.get(requests.compat.urljoin(action, answer.headers["Location"]), timeout=10)


def test_member_page_posts_an_assertion_into_the_frame(site, portal_for):
    with portal_for() as portal:
        member = logged_in(site, MEMBER)
        page = member.get(page_address(site), timeout=10)
        assert "no-cache" in page.headers["Cache-Control"]  # an assertion is never cached
        frame = FRAME.search(page.text)
        assert frame and frame.group(2) == "about:blank"
        assert 'height="700"' in page.text
        action, target, assertion = enter_form(page.text)
        assert action == portal + "/wordpress/enter?lang=en"
        assert target == frame.group(1)
        assert "Continue to your preferences" in page.text  # the button works without JavaScript
        # What the frame receives when the form is sent: the member's own preferences.
        framed = send(action, assertion)
        assert framed.url == portal + "/profile/"
        assert "demo@example.org" in framed.text and 'lang="en"' in framed.text


def test_visitor_page_frames_the_start_page(site, portal_for):
    with portal_for() as portal:
        page = requests.get(page_address(site, "shortcode_page"), timeout=10)
        frame = FRAME.search(page.text)
        assert frame and html.unescape(frame.group(2)) == portal + "/?lang=en"
        assert 'height="800"' in page.text
        assert not ENTER_FORM.search(page.text)


def test_emailed_link_is_framed_for_members_and_visitors(site, portal_for):
    with portal_for() as portal:
        for browser in (requests.Session(), logged_in(site, MEMBER)):
            page = browser.get(page_address(site) + "&portal_path=/link/abc.DEF-1_2", timeout=10)
            assert html.unescape(FRAME.search(page.text).group(2)) == \
                portal + "/link/abc.DEF-1_2?lang=en"
            assert not ENTER_FORM.search(page.text)
            page = browser.get(page_address(site) + "&portal_path=//evil.example/link/x",
                               timeout=10)
            assert "evil.example" not in FRAME.search(page.text).group(2)


def test_the_sites_language_reaches_the_frame(site, portal_for):
    with portal_for() as portal:
        site.php("update_option( 'WPLANG', 'eu' );")
        try:
            page = requests.get(page_address(site), timeout=10)
            _name, src, title = FRAME.search(page.text).groups()
            assert title == "Zure lehentasunak"
            assert html.unescape(src) == portal + "/?lang=eu"
            framed = requests.get(html.unescape(src), timeout=10)
            assert 'lang="eu"' in framed.text
            # The settings page's choice wins over the locale's own language.
            set_portal_address(site, portal, "array( 'eu' => 'es' )")
            page = logged_in(site, MEMBER).get(page_address(site), timeout=10)
            assert enter_form(page.text)[0] == portal + "/wordpress/enter?lang=es"
        finally:
            site.php("delete_option( 'WPLANG' );")


def test_member_whose_role_is_not_allowed_sees_the_sign_in_page(site, portal_for):
    with portal_for() as portal:
        page = logged_in(site, EDITOR).get(page_address(site), timeout=10)
        action, _target, assertion = enter_form(page.text)
        framed = send(action, assertion)
        assert framed.status_code == 403
        assert 'data-reason="role"' in framed.text
        assert 'action="/sign-in"' in framed.text
        assert framed.url == portal + "/wordpress/enter?lang=en"


def test_full_window_entry_for_a_portal_under_the_sites_domain(site, portal_for):
    with portal_for() as portal:
        member = logged_in(site, MEMBER)
        page = member.get(site.url + "/?preference_portal=enter", timeout=10)
        assert page.status_code == 200
        action, target, assertion = enter_form(page.text)
        assert target == "_self"
        assert "frame.js" in page.text
        assert send(action, assertion).url == portal + "/profile/"
        # A visitor is sent to the portal's start page.
        visitor = requests.get(site.url + "/?preference_portal=enter", timeout=10,
                               allow_redirects=False)
        assert visitor.status_code == 302
        assert visitor.headers["Location"] == portal + "/?lang=en"


def findings(site: WordPressSite, clock: str = "") -> list[str]:
    """The connection check's findings: the ones that need fixing, or ["ok"]."""
    found = site.php_json("echo wp_json_encode( Preference_Portal_Health::run() ), \"\\n\";",
                          clock=clock)
    assert isinstance(found, list) and found
    problems = [f["text"] for f in found if not f["ok"]]
    return problems or ["ok"]


def test_connection_check_says_what_is_wrong(site, portal_for, make_app, monkeypatch):
    with portal_for():
        assert findings(site) == ["ok"]
        [clocks] = findings(site, clock="-95s")
        assert "are 95 seconds apart" in clocks or "are 96 seconds apart" in clocks
        monkeypatch.setenv(SECRET_ENV, "a-different-secret-of-forty-characters!!")
        [different] = findings(site)
        assert "The shared secret is different on this site and on the portal" in different
        monkeypatch.delenv(SECRET_ENV)
        [missing] = findings(site)
        assert "The shared secret is missing on the portal" in missing

    with portal_for(door_section(site=site.url)):  # no [embed]: framing forbidden
        [framing] = findings(site)
        assert f"add {site.url} to frame_ancestors" in framing

    with portal_for(door_section(site="https://www.example.org")
                    + f'[embed]\nframe_ancestors = ["{site.url}"]\n'):
        [issuer] = findings(site)
        assert f'set site_url = "{site.url}"' in issuer

    with portal_for(f'[embed]\nframe_ancestors = ["{site.url}"]\n'):  # no assertion door
        [door] = findings(site)
        assert "set assertion = true" in door

    set_portal_address(site, f"http://127.0.0.1:{free_port()}")
    [unreachable] = findings(site)
    assert "cannot be reached from this site" in unreachable


def test_check_in_basque(site, portal_for):
    with portal_for(door_section(site=site.url)):
        site.php("update_option( 'WPLANG', 'eu' );")
        try:
            [framing] = findings(site)
        finally:
            site.php("delete_option( 'WPLANG' );")
    assert framing.startswith("Atariak ez dio gune honi uzten marko batean erakusten")


def test_editor_script_translations_load(site):
    loaded = site.php("""
        switch_to_locale( 'eu' );
        echo load_script_textdomain( 'preference-portal-editor', 'preference-portal',
            WP_PLUGIN_DIR . '/preference-portal/languages' );
    """)
    assert '"Frame":["Markoa"]' in loaded.replace(" ", "")


def test_uninstall_removes_the_settings(tmp_path, make_app):
    site = WordPressSite(tmp_path / "wordpress").start()
    try:
        subprocess.run([sys.executable, str(ROOT / "wordpress" / "build.py"), "zip",
                        str(tmp_path / "plugin.zip")], check=True, capture_output=True, timeout=60)
        zipfile.ZipFile(tmp_path / "plugin.zip").extractall(site.content / "plugins")
        left = site.php("""
            require_once ABSPATH . 'wp-admin/includes/plugin.php';
            require_once ABSPATH . 'wp-admin/includes/file.php';
            activate_plugin( 'preference-portal/preference-portal.php' );
            update_option( 'preference_portal_settings', array( 'portal_url' => 'https://p.example' ) );
            deactivate_plugins( 'preference-portal/preference-portal.php' );
            delete_plugins( array( 'preference-portal/preference-portal.php' ) );
            var_export( get_option( 'preference_portal_settings', 'gone' ) );
        """)
        assert left.strip().endswith("'gone'")
        assert not (site.content / "plugins" / "preference-portal").exists()
    finally:
        site.stop()
