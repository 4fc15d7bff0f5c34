"""The portal installed without its source tree: `pip install .`, then
`gunicorn 'portal:create_app()'` from another folder serves the demo in
every language, with its static files."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from portal.shipped import SOURCE_TREE

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_installed_portal_serves_the_demo_from_any_folder(tmp_path):
    target = tmp_path / "site"
    # The package alone (its dependencies are this environment's), built as a wheel.
    subprocess.run([BIN / "pip", "install", "--quiet", "--no-deps", "--target", target,
                    str(SOURCE_TREE)], check=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "PORTAL_INSTANCE": str(tmp_path / "instance")}
    env.pop("PORTAL_CONFIG", None)
    where = subprocess.run([BIN / "python", "-c", "import portal; print(portal.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(target))  # not the source tree
    port = free_port()
    server = subprocess.Popen([BIN / "gunicorn", "--bind", f"127.0.0.1:{port}", "portal:create_app()"],
                              cwd=elsewhere, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        page = _wait_for(base + "/?lang=eu", server)
        assert page.status_code == 200 and "Kudeatu zure lehentasunak" in page.text
        assert "Gestiona tus preferencias" in requests.get(base + "/?lang=es", timeout=5).text
        css = requests.get(base + "/static/css/portal.css", timeout=5)
        assert css.status_code == 200 and "--portal-accent" in css.text
    finally:
        server.terminate()
        server.wait(10)


def _wait_for(url: str, server: subprocess.Popen) -> requests.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return requests.get(url, timeout=5)
        except requests.ConnectionError:
            if server.poll() is not None or time.monotonic() > deadline:
                output = server.stdout.read().decode() if server.stdout else ""
                raise AssertionError(f"the installed portal did not start:\n{output}") from None
            time.sleep(0.2)
