"""What every reverse-proxy test shares: starting a proxy process, serving a
portal on its upstream port, and the checks a user would make of the portal
under /preferencias/ whichever server stands in front of it."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import csrf_token
from tests.support.smtp import Inbox, link_in

PREFIX = "/preferencias"
PROXY_CONFIG = "[proxy]\ntrusted_hops = 1\n"
URL_ATTRIBUTE = re.compile(r'\b(?:href|action|src)="([^"]*)"')
# What a client could send to pass itself off as the proxy.
FORGED = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Prefix": "/evil",
          "X-Forwarded-Proto": "https", "X-Forwarded-Port": "4443",
          "X-Forwarded-For": "203.0.113.9"}


@dataclass
class Proxy:
    url: str  # the public site, e.g. http://localhost:PORT
    upstream_port: int

    @property
    def portal(self) -> str:
        return self.url + PREFIX + "/"


def wait_for_port(port: int, timeout: float = 10.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break  # it gave up, e.g. on a configuration error
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


@contextmanager
def proxy_process(command: list[str], port: int, error_log: Path) -> Iterator[subprocess.Popen]:
    """Run a proxy in the foreground until the block ends; if it never listens,
    fail with what it said."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, process=process)
    except AssertionError:
        process.kill()
        said = process.communicate()[1].decode()
        logged = error_log.read_text() if error_log.exists() else ""
        raise AssertionError(f"{command[0]} did not start:\n{said}{logged}") from None
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def upstream(app: Flask, proxy: Proxy) -> Iterator[None]:
    """Serve `app` on the port the proxy forwards to."""
    server = make_server("127.0.0.1", proxy.upstream_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


# --- what a user checks --------------------------------------------------------


def assert_stays_under_prefix(html: str, page_url: str, site: str) -> None:
    values = URL_ATTRIBUTE.findall(html)
    assert values, f"{page_url} has no links at all"
    for value in values:
        if value.startswith("#"):
            continue
        absolute = urljoin(page_url, value.replace("&amp;", "&"))
        if urlsplit(absolute)[:2] != urlsplit(site)[:2]:
            continue  # another site (the footer's privacy policy) or an email address
        assert absolute.startswith(site + PREFIX + "/"), f"{value!r} on {page_url} escapes the prefix"


def assert_redirects_to(answer: requests.Response, expected: str) -> None:
    assert answer.is_redirect, f"{answer.url} answered {answer.status_code}, not a redirect"
    target = urljoin(answer.url, answer.headers["Location"])
    assert target == expected, f"{answer.url} redirects to {answer.headers['Location']!r}"


class _Form(HTMLParser):
    """The fields of the form posting to `action`, as a browser sends them untouched."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.data = action, False, []
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.data.append((name, a.get("value") or ""))
        elif tag == "select":
            self.select = name
        elif tag == "option" and self.select and "selected" in a:
            self.data.append((self.select, a.get("value") or ""))
        elif tag == "textarea":
            self.textarea = name
            self.data.append((name, ""))

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.data[-1] = (self.textarea, self.data[-1][1] + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def form_fields(html: str, action: str) -> list[tuple[str, str]]:
    form = _Form(action)
    form.feed(html)
    assert form.data, f"no form posts to {action}"
    return form.data


def check_whole_flow(app: Flask, smtp: Inbox, proxy: Proxy) -> None:
    """Sign-in page, link request, the emailed link, the profile saved, signing
    out: every page, link, asset and redirect under the prefix."""
    with upstream(app, proxy):
        browser = requests.Session()
        start = browser.get(proxy.portal, timeout=5)
        assert start.status_code == 200
        assert_stays_under_prefix(start.text, start.url, proxy.url)
        assert "Path=/preferencias/" in start.headers["Set-Cookie"]

        sent = browser.post(proxy.portal + "sign-in", timeout=5, allow_redirects=False,
                            data={"email": "demo@example.org", "csrf_token": csrf_token(start.text)})
        assert_redirects_to(sent, proxy.portal + "sign-in/sent")
        assert_stays_under_prefix(browser.get(proxy.portal + "sign-in/sent", timeout=5).text,
                                  proxy.portal + "sign-in/sent", proxy.url)

        link = link_in(smtp.wait_for("demo@example.org")[0])
        assert link.startswith(proxy.portal + "link/")
        opened = browser.get(link, timeout=5)
        assert opened.status_code == 200
        assert_stays_under_prefix(opened.text, opened.url, proxy.url)
        confirmed = browser.post(link, data={"csrf_token": csrf_token(opened.text)}, timeout=5,
                                 allow_redirects=False)
        assert_redirects_to(confirmed, proxy.portal + "profile/")
        profile = browser.get(proxy.portal + "profile/", timeout=5)
        assert profile.status_code == 200
        assert_stays_under_prefix(profile.text, profile.url, proxy.url)

        # Assets load through the proxy too.
        for asset in re.findall(r'(?:href|src)="([^"]+\.(?:css|js|svg))"', profile.text):
            assert browser.get(urljoin(profile.url, asset), timeout=5).status_code == 200

        # Save a change through the proxy; the page shows it afterwards.
        fields = [(name, "Ane Miren" if name == "first_name" else value)
                  for name, value in form_fields(profile.text, PREFIX + "/profile/")]
        assert ("first_name", "Ane Miren") in fields
        saved = browser.post(proxy.portal + "profile/", data=fields, timeout=5, allow_redirects=False)
        assert_redirects_to(saved, proxy.portal + "profile/")
        shown = browser.get(proxy.portal + "profile/", timeout=5)
        assert 'value="Ane Miren"' in shown.text
        assert 'class="message message-success"' in shown.text  # "your changes are saved"
        assert_stays_under_prefix(shown.text, shown.url, proxy.url)

        # A path without its slash, and a page that needs signing in, stay under the prefix.
        assert_redirects_to(browser.get(proxy.portal + "profile", timeout=5, allow_redirects=False),
                            proxy.portal + "profile/")
        assert_redirects_to(requests.get(proxy.portal + "profile/", timeout=5, allow_redirects=False),
                            proxy.portal)
        out = browser.post(proxy.portal + "sign-out", timeout=5, allow_redirects=False,
                           data={"csrf_token": csrf_token(shown.text)})
        assert_redirects_to(out, proxy.portal)


def check_forged_headers_are_ignored(app: Flask, smtp: Inbox, proxy: Proxy) -> None:
    """A client's own X-Forwarded-* headers reach neither the pages nor the emailed link."""
    with upstream(app, proxy):
        browser = requests.Session()
        browser.headers.update(FORGED)
        start = browser.get(proxy.portal, timeout=5)
        assert start.status_code == 200
        assert "evil" not in start.text, "a forged X-Forwarded-Host or -Prefix was believed"
        assert "4443" not in start.text, "a forged X-Forwarded-Port was believed"
        assert_stays_under_prefix(start.text, start.url, proxy.url)
        sent = browser.post(proxy.portal + "sign-in", timeout=5, allow_redirects=False,
                            data={"email": "demo@example.org", "csrf_token": csrf_token(start.text)})
        assert_redirects_to(sent, proxy.portal + "sign-in/sent")
        link = link_in(smtp.wait_for("demo@example.org")[0])
        assert link.startswith(proxy.portal + "link/"), link


def check_rest_of_site_is_not_the_portal(proxy: Proxy) -> None:
    answer = requests.get(proxy.url + "/", timeout=5)
    assert "WordPress" in answer.text
