"""The [preference_portal] shortcode (wordpress/preference-portal.php), run by
PHP: what it frames for the links a contact may arrive with."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import need
from tests.browser.host import shortcode_output

PORTAL = "https://preferencias.example.org"


def framed_src(query: str, language: str = "es") -> str:
    html = shortcode_output(need("php", "php-cli"), PORTAL, query, language)
    match = re.search(r'<iframe [^>]*src="([^"]+)"', html)
    assert match, html
    return match.group(1).replace("&#038;", "&")


def test_frames_the_portal_in_the_sites_language():
    assert framed_src("", "eu") == PORTAL + "/?lang=eu"


def test_frames_the_emailed_link_it_was_opened_with():
    token = "eyJlIjoiZGVtbyJ9.awYgRg.NyLOihSOIc-_x"
    assert framed_src(f"portal_path=/link/{token}") == f"{PORTAL}/link/{token}?lang=es"


@pytest.mark.parametrize("path", ["https://evil.example/", "//evil.example/link/x",
                                  "/link/x/../../admin", "/profile/", "/link/x\"onload=\"alert(1)"])
def test_frames_nothing_but_the_portal_for_other_paths(path):
    assert framed_src("portal_path=" + path) == PORTAL + "/?lang=es"


def test_height_messages_are_believed_only_from_the_portal():
    html = shortcode_output(need("php", "php-cli"), PORTAL, "", "es")
    assert 'var o="https://preferencias.example.org"' in html
    assert "e.origin!==o||e.source!==f.contentWindow" in html
