"""Two portal nodes as docs/operations.md deploys several machines: each
gunicorn with two workers (the README's command), its own instance folder
and the embedded queue workers, sharing one PostgreSQL (the portal's
database) and one Redis (queue wake-ups and the profile cache), behind
nginx balancing round robin."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from portal.shipped import SOURCE_TREE
from tests.browser.conftest import need
from tests.proxy.support import PREFIX, proxy_process, wait_for_port
from tests.resilience.conftest import RedisServer, ac  # noqa: F401 - ac: the fake ActiveCampaign
from tests.security.conftest import GUNICORN
from tests.support.config import STRONG_KEY
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401 - fixtures
from tests.support.smtp import Inbox, free_port, link_in

HERE = Path(__file__).parent
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass
class Node:
    name: str
    port: int
    folder: Path
    process: subprocess.Popen

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL to gunicorn and its workers at once: a machine that dies."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def log(self) -> str:
        return (self.folder / "gunicorn.log").read_text(encoding="utf-8", errors="replace")


@dataclass
class Cluster:
    url: str  # the public address: nginx, under /preferencias
    nodes: list[Node]
    redis: RedisServer
    database_url: str
    served_by: dict[str, int] = field(default_factory=dict)  # node address -> answers
    lock: threading.Lock = field(default_factory=threading.Lock)

    def browser(self) -> requests.Session:
        """A browser on the public address; it notes which node gave each answer."""
        client = requests.Session()

        def note(response: requests.Response, *args: object, **kwargs: object) -> None:
            node = response.headers.get("X-Node", "")
            with self.lock:
                self.served_by[node] = self.served_by.get(node, 0) + 1

        client.hooks["response"].append(note)
        return client


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, f"the page has no CSRF token: {html[:300]}"
    return found.group(1)


def request_link(cluster: Cluster, browser: requests.Session, smtp: Inbox, email: str) -> str:
    """Ask for a sign-in link through the balancer; the link the email holds."""
    before = len(smtp.sent_to(email))
    start = browser.get(cluster.url + "/")
    asked = browser.post(cluster.url + "/sign-in",
                         data={"email": email, "csrf_token": csrf_of(start.text)})
    assert asked.status_code == 200, asked.text[:300]
    return link_in(smtp.wait_for(email, count=before + 1)[-1])


def open_link(browser: requests.Session, link: str) -> requests.Response:
    """Open a sign-in link and press its button; the answer after redirects."""
    opened = browser.get(link)
    if "csrf_token" not in opened.text:
        return opened
    return browser.post(link, data={"csrf_token": csrf_of(opened.text)})


def sign_in(cluster: Cluster, smtp: Inbox, email: str) -> requests.Session:
    browser = cluster.browser()
    signed = open_link(browser, request_link(cluster, browser, smtp, email))
    assert signed.url == cluster.url + "/profile/", signed.text[:300]
    return browser


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str, smtp: Inbox) -> Iterator[Callable[..., Cluster]]:  # noqa: F811
    """cluster(config_text, env) starts Redis, two nodes and nginx; all are
    stopped when the test ends."""
    nginx_binary = need("nginx", "nginx")
    started: list[Node] = []
    servers: list[RedisServer] = []
    stack = ExitStack()

    def start(config: Callable[[str, str], str], env: dict[str, str] | None = None) -> Cluster:
        redis = RedisServer(tmp_path / "redis")
        (tmp_path / "redis").mkdir()
        servers.append(redis.start())
        port = free_port()
        public = f"http://localhost:{port}{PREFIX}"
        config_file = tmp_path / "portal.toml"
        config_file.write_text(config(public, redis.url), encoding="utf-8")
        environment = {**os.environ, "PORTAL_CONFIG": str(config_file),
                       "PORTAL_SECRET_KEY": STRONG_KEY, "PORTAL_DATABASE_URL": postgres_url,
                       "PORTAL_INSECURE_COOKIES": "1", **(env or {})}
        nodes = [_start_node(name, tmp_path / f"node-{name}", environment) for name in "AB"]
        started.extend(nodes)
        for node in nodes:
            wait_for_port(node.port, 60, node.process)
        run = tmp_path / "nginx"
        run.mkdir()
        conf = ((HERE / "nginx.conf.template").read_text()
                .replace("@USER@", "user root;" if os.geteuid() == 0 else "")
                .replace("@RUN@", str(run)).replace("@PORT@", str(port))
                .replace("@NODE_A@", str(nodes[0].port)).replace("@NODE_B@", str(nodes[1].port)))
        (run / "nginx.conf").write_text(conf)
        command = [nginx_binary, "-p", str(run), "-c", str(run / "nginx.conf"),
                   "-e", str(run / "error.log")]
        stack.enter_context(proxy_process(command, port, run / "error.log"))
        return Cluster(public, nodes, redis, postgres_url)

    yield start
    stack.close()
    for node in started:
        if node.process.poll() is None:
            os.killpg(node.process.pid, signal.SIGTERM)
            try:
                node.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(node.process.pid, signal.SIGKILL)
    for server in servers:
        server.stop()


def _start_node(name: str, folder: Path, environment: dict[str, str]) -> Node:
    folder.mkdir()
    port = free_port()
    log = (folder / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [GUNICORN, "--workers", "2", "--bind", f"127.0.0.1:{port}", "--access-logfile", "-",
         "wsgi:app"], cwd=SOURCE_TREE, env={**environment, "PORTAL_INSTANCE": str(folder)},
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return Node(name, port, folder, process)
