"""Load benchmark: a spike of contacts opening and saving their profile.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/run.py                 # 1,000 contacts within a minute
    .venv/bin/python bench/run.py --contacts 200 --spawn-seconds 20   # a quick look

For each configuration it starts a fake ActiveCampaign on loopback that
answers in 150 ms and allows 5 requests a second (429 + Retry-After past
that), the portal under gunicorn (2 gthread workers, the embedded queue
worker in each), and locust: each simulated contact opens their profile,
saves a change and reloads the page. Sign-in is not part of the spike: each
contact arrives with a signed session cookie.

Reported: CRM calls per profile view, pages per second, p50/p95 latency,
429s answered by the CRM, and lost changes: saves the portal accepted that
are neither in the CRM nor waiting in the queue once the run ends.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes import activecampaign as fake  # noqa: E402
from tests.fakes.server import FakeServer  # noqa: E402
from tests.support.smtp import free_port  # noqa: E402

BIN = Path(sys.executable).parent
CONFIGS = {
    "as built": {},
    "cache and limiter off": {"cache": "none", "limiter": False},
}


def start_crm(contacts: int) -> tuple[FakeServer, fake.AcState, dict[str, str], list[str]]:
    state = fake.AcState()
    ids = {"topics": state.add_field("Topics", "listbox", ("music", "theatre")),
           "weekly": state.add_list("Weekly"), "events": state.add_list("Events")}
    refs = [state.add_contact(f"contact{n}@example.org", datetime.now(UTC), firstName=f"C{n}")
            for n in range(contacts)]
    server = FakeServer(fake.create_app(state)).start()
    server.faults.latency = 0.15
    server.faults.per_second = 5
    return server, state, ids, refs


def config(crm_url: str, ids: dict[str, str], resilience: dict, storage_url: str) -> str:
    settings = "\n".join(f"{k} = {json.dumps(v)}" for k, v in resilience.items())
    return f"""
[portal]
name = "Benchmark"
demo = true
languages = ["es", "eu", "en"]
default_language = "en"
crm = "main"
storage_url = "{storage_url}"

[mail]
backends = ["file"]

[crm.main]
type = "activecampaign"
base_url = "{crm_url}"

[resilience]
{settings}

[[fields]]
key = "first_name"
crm_field = "firstName"
type = "text"
label = "First name"

[[fields]]
key = "topics"
crm_field = "{ids['topics']}"
type = "multiselect"
label = "Topics"
choices = ["music", "theatre"]

[[groups]]
key = "news"
label = "News"

  [[groups.items]]
  key = "weekly"
  kind = "list"
  ref = "{ids['weekly']}"
  label = "Weekly"

  [[groups.items]]
  key = "events"
  kind = "list"
  ref = "{ids['events']}"
  label = "Events"

  [[groups.items]]
  key = "volunteering"
  kind = "tag"
  ref = "interest-volunteering"
  label = "Volunteering"
"""


def session_cookies(refs: list[str]) -> list[tuple[str, str]]:
    """A signed session per contact, as the sign-in door would leave it."""
    from portal import create_app

    app = create_app()
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    now = time.time()
    return [(ref, serializer.dumps({
        "contact": {"ref": ref, "email": f"contact{n}@example.org", "scope": "full",
                    "via": "link"},
        "seen": now, "lang": "en", "_permanent": True})) for n, ref in enumerate(refs)]


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def stats(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return {row["Name"]: row for row in csv.DictReader(handle)}


def start_redis(folder: Path) -> subprocess.Popen:
    """The shared counters of the outbound limiter: gunicorn runs two processes."""
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--dir", str(folder)],
                               stdout=(folder / "redis.log").open("wb"), stderr=subprocess.STDOUT)
    process.url = f"redis://127.0.0.1:{port}/0"  # type: ignore[attr-defined]
    time.sleep(0.5)
    return process


def run_one(label: str, resilience: dict, contacts: int, spawn: float, tail: float,
            folder: Path, redis: subprocess.Popen) -> dict:
    server, state, ids, refs = start_crm(contacts)
    work = folder / label.replace(" ", "-")
    work.mkdir(exist_ok=True)
    (work / "portal.toml").write_text(config(server.url, ids, resilience, redis.url),  # type: ignore[attr-defined]
                                      encoding="utf-8")
    env = {**os.environ, "PORTAL_CONFIG": str(work / "portal.toml"),
           "PORTAL_INSTANCE": str(work / "instance"), "PORTAL_CRM_MAIN_API_TOKEN": state.token,
           "BENCH_COOKIES": str(work / "cookies.json"), "BENCH_RESULTS": str(work / "results.txt")}
    os.environ.update({k: env[k] for k in ("PORTAL_CONFIG", "PORTAL_INSTANCE",
                                           "PORTAL_CRM_MAIN_API_TOKEN")})
    (work / "cookies.json").write_text(json.dumps(session_cookies(refs)), encoding="utf-8")
    port = free_port()
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", "2", "-k", "gthread", "--threads", "32",
         "-b", f"127.0.0.1:{port}", "--timeout", "60", "wsgi:app"],
        cwd=ROOT, env=env, stdout=(work / "gunicorn.log").open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/?lang=en")
        time.sleep(1.5)  # let the fake's one-second window empty
        server.calls.clear()
        server.rate_limited = 0
        started = time.monotonic()
        subprocess.run(
            [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
             "-u", str(contacts), "-r", f"{contacts / spawn:.2f}", "-t", f"{int(spawn + tail)}s",
             "--host", base, "--csv", str(work / "locust"), "--only-summary",
             "--stop-timeout", "10"],
            cwd=ROOT, env=env, check=False, stdout=(work / "locust.log").open("wb"),
            stderr=subprocess.STDOUT)
        elapsed = time.monotonic() - started
        crm_calls = len(server.calls)
        limited = server.rate_limited
    finally:
        web.send_signal(signal.SIGTERM)
        web.wait(30)
    server.stop()
    return measure(label, work, state, crm_calls, limited, elapsed)


def measure(label: str, work: Path, state: fake.AcState, crm_calls: int, limited: int,
            elapsed: float) -> dict:
    from portal import create_app

    ledger = create_app().extensions["portal"].ledger
    pending = {e.contact_ref for e in ledger.entries()}
    outcomes = dict(line.split() for line in (work / "results.txt").read_text().splitlines())
    accepted = [ref for ref, what in outcomes.items() if what == "accepted"]
    landed = [ref for ref in accepted if state.contacts[ref]["firstName"] == f"Bench{ref}"]
    lost = [ref for ref in accepted if ref not in landed and ref not in pending]
    rows = stats(work / "locust_stats.csv")
    total = rows["Aggregated"]
    views = sum(int(rows[name]["Request Count"]) - int(rows[name]["Failure Count"])
                for name in ("view", "reload") if name in rows)
    ok_pages = int(total["Request Count"]) - int(total["Failure Count"])
    return {
        "configuration": label,
        "contacts": len(outcomes),
        "profile views served": views,
        "CRM calls (reads and writes)": crm_calls,
        "CRM calls per profile view served": round(crm_calls / views, 2) if views else "-",
        "pages/s (all)": round(int(total["Request Count"]) / elapsed, 1),
        "pages/s answered OK": round(ok_pages / elapsed, 1),
        "p50 ms": total["50%"],
        "p95 ms": total["95%"],
        "views refused (503)": int(rows.get("view", {}).get("Failure Count", 0)),
        "saves accepted": len(accepted),
        "of which in the CRM": len(landed),
        "of which queued": len(accepted) - len(landed) - len(lost),
        "429s answered by the CRM": limited,
        "changes lost": len(lost),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--spawn-seconds", type=float, default=60)
    parser.add_argument("--tail", type=float, default=20, help="seconds after the last arrival")
    parser.add_argument("--work", help="folder for logs and figures (default: a new temporary one)")
    args = parser.parse_args()
    results = []
    folder = Path(args.work or tempfile.mkdtemp(prefix="portal-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    redis = start_redis(folder)
    try:
        for label, resilience in CONFIGS.items():
            results.append(run_one(label, resilience, args.contacts, args.spawn_seconds,
                                   args.tail, folder, redis))
            print(json.dumps(results[-1]), flush=True)
    finally:
        redis.terminate()
        redis.wait(10)
    print(f"Logs and locust figures: {folder}")
    keys = list(results[0])
    print("\n| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for result in results:
        print("| " + " | ".join(str(result[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
