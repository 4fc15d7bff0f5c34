"""One nginx per module, in front of whichever portal the test serves on the
upstream port, under /preferencias/."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.browser.conftest import need
from tests.support.smtp import free_port

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
PREFIX = "/preferencias"


@dataclass
class Proxy:
    url: str  # the public site, e.g. http://localhost:PORT
    upstream_port: int

    @property
    def portal(self) -> str:
        return self.url + PREFIX + "/"


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


@pytest.fixture(scope="module")
def nginx(tmp_path_factory) -> Iterator[Proxy]:
    binary = need("nginx", "nginx")
    run = tmp_path_factory.mktemp("nginx")
    port, upstream = free_port(), free_port()
    root = os.geteuid() == 0
    conf = (TEMPLATE.read_text()
            .replace("@USER@", "user root;" if root else "")  # workers must reach our temp dirs
            .replace("@RUN@", str(run)).replace("@PORT@", str(port))
            .replace("@UPSTREAM@", str(upstream)))
    (run / "nginx.conf").write_text(conf)
    process = subprocess.Popen([binary, "-p", str(run), "-c", str(run / "nginx.conf"),
                                "-e", str(run / "error.log")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port)
    except AssertionError:
        process.kill()
        raise AssertionError(process.communicate()[1].decode()) from None
    yield Proxy(f"http://localhost:{port}", upstream)
    process.terminate()
    process.wait(timeout=10)


@contextmanager
def upstream(app: Flask, proxy: Proxy) -> Iterator[None]:
    """Serve `app` on the port nginx forwards to."""
    server = make_server("127.0.0.1", proxy.upstream_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
