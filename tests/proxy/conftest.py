"""One nginx (or Apache) per module, in front of whichever portal the test
serves on the upstream port, under /preferencias/."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import need
from tests.proxy.support import Proxy, proxy_process
from tests.support.smtp import free_port

HERE = Path(__file__).parent
README = HERE.parents[1] / "README.md"
README_UPSTREAM = "http://127.0.0.1:8000/"  # where the README's examples run the portal


@pytest.fixture(scope="module")
def nginx(tmp_path_factory) -> Iterator[Proxy]:
    binary = need("nginx", "nginx")
    run = tmp_path_factory.mktemp("nginx")
    port, upstream = free_port(), free_port()
    root = os.geteuid() == 0
    conf = ((HERE / "nginx.conf.template").read_text()
            .replace("@USER@", "user root;" if root else "")  # workers must reach our temp dirs
            .replace("@RUN@", str(run)).replace("@PORT@", str(port))
            .replace("@UPSTREAM@", str(upstream)))
    (run / "nginx.conf").write_text(conf)
    command = [binary, "-p", str(run), "-c", str(run / "nginx.conf"), "-e", str(run / "error.log")]
    with proxy_process(command, port, run / "error.log"):
        yield Proxy(f"http://localhost:{port}", upstream)


def readme_apache_example() -> str:
    """The directives of the README's Apache example, verbatim."""
    found = re.findall(r"^```apache\n(.*?)^```", README.read_text(), re.S | re.M)
    assert len(found) == 1, "README.md should hold exactly one ```apache example"
    assert README_UPSTREAM in found[0], f"the README's Apache example no longer proxies to {README_UPSTREAM}"
    return found[0]


@pytest.fixture(scope="module")
def apache(tmp_path_factory) -> Iterator[Proxy]:
    binary = need(shutil.which("apache2") or "/usr/sbin/apache2", "apache2")
    run = tmp_path_factory.mktemp("apache")
    port, upstream = free_port(), free_port()
    # Started as root, Apache will not serve as root: its workers only proxy
    # and answer from memory, so an unprivileged user is enough.
    user = "User www-data\nGroup www-data" if os.geteuid() == 0 else ""
    portal = readme_apache_example().replace(README_UPSTREAM, f"http://127.0.0.1:{upstream}/")
    conf = ((HERE / "apache.conf.template").read_text()
            .replace("@USER@", user).replace("@RUN@", str(run)).replace("@PORT@", str(port))
            .replace("@PORTAL@", portal))
    (run / "apache2.conf").write_text(conf)
    command = [binary, "-d", str(run), "-f", str(run / "apache2.conf"), "-DFOREGROUND"]
    with proxy_process(command, port, run / "error.log"):
        yield Proxy(f"http://localhost:{port}", upstream)
