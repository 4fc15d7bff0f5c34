"""Page benchmark: the profile page against a bare 20-field Flask-WTF form.

    .venv/bin/python bench/page.py                       # side by side, then the cache sizes
    .venv/bin/python bench/page.py --seconds 5 --cached 1000

Both run under the same gunicorn (2 gthread workers of 8 threads) on this
machine, one after the other and twice each, and are asked for the page by
the same client (`--clients` threads, keep-alive) for `--seconds` each turn.
The portal runs the demo configuration (the embedded CRM) with the profile
already cached: what is measured is the page itself. The ratio is the
portal's requests per second over the bare form's.

Then the file cache: profile views of 200 signed-in contacts, first views
(a read and a cache write) and cached views, with 100 and with `--cached`
(100,000) other profiles in the cache.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.smtp import free_port  # noqa: E402

BIN = Path(sys.executable).parent
GUNICORN = ["-w", "2", "-k", "gthread", "--threads", "8", "--timeout", "60"]


def serve(app: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([str(BIN / "gunicorn"), *GUNICORN, "-b", f"127.0.0.1:{port}", app],
                               cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(base + "/", timeout=2)
            return process, base
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{app} did not come up")


def hammer(urls: list[str], cookies: list[dict[str, str]], clients: int, seconds: float,
           most: int | None = None) -> float:
    """Requests per second answered 200, `clients` threads asking in turn
    (`most`: stop after that many requests, one per cookie)."""
    answered = [0] * clients
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        session = requests.Session()
        i = n
        while time.monotonic() < stop and (most is None or i < most):
            session.cookies.clear()
            session.cookies.update(cookies[i % len(cookies)])
            if session.get(urls[i % len(urls)], timeout=30).status_code == 200:
                answered[n] += 1
            i += clients

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(answered) / (time.monotonic() - started)


def sessions(env: dict[str, str], emails: list[str]) -> list[dict[str, str]]:
    """A signed-in session cookie per contact (made in the portal's database)."""
    os.environ.update(env)
    from flask import session

    from portal import create_app
    from portal.auth.session import FULL, sign_in
    from portal.delivery import delivery

    app = create_app()
    found = []
    with app.test_request_context():
        crm = delivery(app).crm
        for email in emails:
            contact = crm.find_contact(email) or crm.create_contact(email, "Bench Contact")
            sign_in(contact, FULL, via="link")
            answer = app.response_class()
            app.session_interface.save_session(app, session, answer)
            cookie = answer.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)
            found.append({cookie[0]: cookie[1]})
    return found


def fill_cache(env: dict[str, str], count: int) -> None:
    """`count` cached profiles of other contacts, written as the portal writes them."""
    os.environ.update(env)
    from portal import create_app
    from portal.crm.base import Contact, Profile
    from portal.delivery import delivery
    from portal.delivery.cache import _dump

    profiles = delivery(create_app()).profiles
    text = _dump(Profile(Contact("x", "x@example.org")), "none")
    for n in range(count):
        profiles.cache.set(f"profile:main:filler{n}", text, timeout=profiles.keep_for)


def portal_env(folder: Path) -> dict[str, str]:
    return {**os.environ, "PORTAL_CONFIG": str(ROOT / "config" / "demo.toml"),
            "PORTAL_INSTANCE": str(folder / "instance")}


def side_by_side(args: argparse.Namespace, folder: Path) -> dict[str, float]:
    env = portal_env(folder / "page")
    cookies = sessions(env, ["demo@example.org"])
    portal, portal_url = serve("wsgi:app", env, folder / "portal.log")
    bare, bare_url = serve("bench.bare_form:app", {**os.environ}, folder / "bare.log")
    try:
        requests.get(portal_url + "/profile/?lang=en", cookies=cookies[0], timeout=30)  # warm
        figures: dict[str, list[float]] = {"bare form": [], "profile page": []}
        for _ in range(2):
            figures["bare form"].append(hammer([bare_url + "/"], [{}], args.clients, args.seconds))
            figures["profile page"].append(hammer([portal_url + "/profile/?lang=en"], cookies,
                                                  args.clients, args.seconds))
    finally:
        for process in (portal, bare):
            process.terminate()
            process.wait(30)
    result = {name: round(sum(v) / len(v), 1) for name, v in figures.items()}
    result["ratio"] = round(result["profile page"] / result["bare form"], 2)
    return result


def cache_sizes(args: argparse.Namespace, folder: Path) -> dict[str, float]:
    result: dict[str, float] = {}
    for size in (100, args.cached):
        work = folder / f"cache-{size}"
        env = portal_env(work)
        cookies = sessions(env, [f"bench{n}@example.org" for n in range(200)])
        fill_cache(env, size)
        portal, url = serve("wsgi:app", env, work / "portal.log")
        try:
            page = url + "/profile/?lang=en"
            result[f"first views/s, {size} cached"] = round(
                hammer([page], cookies, args.clients, 60, most=len(cookies)), 1)
            result[f"cached views/s, {size} cached"] = round(
                hammer([page], cookies, args.clients, args.seconds), 1)
        finally:
            portal.terminate()
            portal.wait(30)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--cached", type=int, default=100_000)
    parser.add_argument("--work", help="folder for logs (default: a new temporary one)")
    args = parser.parse_args()
    folder = Path(args.work or tempfile.mkdtemp(prefix="portal-page-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        print(json.dumps(side_by_side(args, folder)), flush=True)
        print(json.dumps(cache_sizes(args, folder)), flush=True)
    finally:
        if not args.work:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
