"""The portal behind nginx under /preferencias/: every link, redirect, form
action, asset and email link carries the prefix and the public host."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import requests

from tests.conftest import csrf_token
from tests.proxy.conftest import PREFIX, upstream
from tests.support.smtp import link_in

PROXY_CONFIG = "[proxy]\ntrusted_hops = 1\n"
URL_ATTRIBUTE = re.compile(r'\b(?:href|action|src)="([^"]*)"')


def assert_stays_under_prefix(html: str, page_url: str, site: str) -> None:
    for value in URL_ATTRIBUTE.findall(html):
        if value.startswith("#"):
            continue
        absolute = urljoin(page_url, value.replace("&amp;", "&"))
        assert absolute.startswith(site + PREFIX + "/"), f"{value!r} on {page_url} escapes the prefix"


def test_whole_flow_through_nginx_keeps_the_prefix(make_app, smtp, nginx):
    app = make_app(append=PROXY_CONFIG)
    with upstream(app, nginx):
        browser = requests.Session()
        start = browser.get(nginx.portal, timeout=5)
        assert start.status_code == 200
        assert_stays_under_prefix(start.text, start.url, nginx.url)
        assert "Path=/preferencias/" in start.headers["Set-Cookie"]

        sent = browser.post(nginx.portal + "sign-in", timeout=5, allow_redirects=False,
                            data={"email": "demo@example.org", "csrf_token": csrf_token(start.text)})
        assert sent.status_code == 302
        assert urljoin(sent.url, sent.headers["Location"]) == nginx.portal + "sign-in/sent"

        link = link_in(smtp.wait_for("demo@example.org")[0])
        assert link.startswith(nginx.portal + "link/")
        opened = browser.get(link, timeout=5)
        assert_stays_under_prefix(opened.text, opened.url, nginx.url)
        profile = browser.post(link, data={"csrf_token": csrf_token(opened.text)}, timeout=5)
        assert profile.url == nginx.portal + "profile/"
        assert_stays_under_prefix(profile.text, profile.url, nginx.url)

        # Assets load through the proxy too.
        for asset in re.findall(r'(?:href|src)="([^"]+\.(?:css|js|svg))"', profile.text):
            assert browser.get(urljoin(profile.url, asset), timeout=5).status_code == 200


def test_the_rest_of_the_site_is_not_the_portal(nginx):
    answer = requests.get(nginx.url + "/", timeout=5)
    assert "WordPress" in answer.text
