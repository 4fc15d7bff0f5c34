"""The portal served as the README serves it (gunicorn, two workers, on
loopback), for tests that attack it over real HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from portal.shipped import SOURCE_TREE
from tests.support.config import STRONG_KEY, demo_config, served_at
from tests.support.smtp import Inbox, free_port
from tests.wordpress.conftest import wordpress_login  # noqa: F401 (a fixture tests here use)

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass
class Served:
    url: str  # where the test reaches gunicorn: http://127.0.0.1:PORT
    public_url: str
    log: Path  # gunicorn's output, access log included
    instance: Path

    def session(self, host: str = "") -> requests.Session:
        """A client; `host` sets the Host header it sends (default: the public one)."""
        client = requests.Session()
        client.headers["Host"] = host or self.public_url.split("://", 1)[1].split("/", 1)[0]
        # What a browser on the public page sends with a form (Flask-WTF checks it on https).
        client.headers["Referer"] = self.public_url + "/"
        client.hooks["response"].append(_browser_cookies(client))
        return client

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _browser_cookies(client: requests.Session) -> Callable[..., None]:
    """Keep cookies as the browser on the public address does: the test reaches
    gunicorn without the proxy's prefix and TLS, which their Path and Secure
    attributes name."""
    jar: dict[str, str] = {}

    def keep(response: requests.Response, *args: object, **kwargs: object) -> None:
        for header in response.raw.headers.getlist("Set-Cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in header or "expires=Thu, 01 Jan 1970" in header:
                jar.pop(name, None)
            else:
                jar[name] = value
        client.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())

    return keep


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


@pytest.fixture
def serve(tmp_path: Path, smtp: Inbox) -> Iterator:
    """serve(public_url=..., append=..., replace=...) starts the README's
    production command on a copy of the demo's contents."""
    started: list[subprocess.Popen] = []

    def start(public_url: str = "https://www.example.org/preferencias", append: str = "",
              replace: dict[str, str] | None = None, env: dict[str, str] | None = None) -> Served:
        folder = tmp_path / f"site{len(started)}"
        folder.mkdir()
        config = demo_config(folder, smtp_port=smtp.port, append=append,
                             replace={**served_at(public_url), **(replace or {})})
        port, log = free_port(), folder / "gunicorn.log"
        environment = {**os.environ, "PORTAL_CONFIG": str(config), "PORTAL_SECRET_KEY": STRONG_KEY,
                       "PORTAL_INSTANCE": str(folder / "instance"), **(env or {})}
        _seed(environment)
        process = subprocess.Popen(
            [GUNICORN, "--workers", "2", "--bind", f"127.0.0.1:{port}", "--access-logfile", "-",
             "wsgi:app"], cwd=SOURCE_TREE, env=environment, stdout=log.open("wb"),
            stderr=subprocess.STDOUT)
        started.append(process)
        served = Served(f"http://127.0.0.1:{port}", public_url, log, folder / "instance")
        _wait_for(served, process)
        return served

    yield start
    for process in started:
        process.terminate()
        process.wait(10)


def _seed(environment: dict[str, str]) -> None:
    """The demo's contacts, in the embedded CRM the served portal uses."""
    subprocess.run([sys.executable, "-m", "portal", "demo", "seed"], cwd=SOURCE_TREE,
                   env=environment, check=True, capture_output=True, timeout=60)


def _wait_for(served: Served, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            requests.get(served.url + "/", headers={"Host": "probe.invalid"}, timeout=2)
            return
        except (requests.ConnectionError, requests.Timeout):  # workers still starting (a busy machine)
            time.sleep(0.1)
    raise AssertionError(f"the portal did not start:\n{served.log_text()}")
