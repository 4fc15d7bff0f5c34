"""Load benchmark: a spike of contacts opening and saving their profile.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/run.py                 # every CRM, both arrivals, 1,000 contacts a run
    .venv/bin/python bench/run.py --crms hubspot --arrivals newsletter --contacts 200
    .venv/bin/python bench/run.py --database postgresql    # the portal's database in PostgreSQL

For each CRM (ActiveCampaign, HubSpot, Salesforce: the fakes of the tests,
answering in 150 ms and limiting requests as each vendor documents) and each
way of arriving it starts the portal under gunicorn (2 gthread workers, the
embedded queue worker in each, limiter counters in Redis) and locust. The
contacts arrive within `--spawn-seconds`:
- "newsletter": each follows the link of a campaign email (`/n/<token>`,
  tokens issued beforehand, as `portal tokens issue` does), presses its
  button, then opens the profile;
- "magic link": each comes back signed in through an emailed link (a
  session made beforehand) and has no newsletter token yet.
Each saves a change (two fields, two lists or subscription types, a tag or
its stand-in) and reloads the page.

Before the spike, one contact alone makes the same visit with the budget
free: its CRM calls are the visit's cost. After it, the queue is given up to
`--drain` seconds from the last arrival to bring every accepted save into
the CRM. Reported: visits served, CRM calls per visit, p50/p95, 429s
answered by the CRM, and lost or twice-applied changes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.crms import SpikeCrm, portal_config, spike_crm  # noqa: E402
from tests.support.postgres import PostgresServer, start_postgres, stop_postgres  # noqa: E402
from tests.support.smtp import free_port  # noqa: E402

BIN = Path(sys.executable).parent
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CRMS = ("activecampaign", "hubspot", "salesforce")
ARRIVALS = ("newsletter", "magic link")


def prepare(crm: SpikeCrm, refs: list[str], arrival: str) -> list[list[str]]:
    """Newsletter tokens in the CRM, or signed-in sessions, made with the portal's own code."""
    from flask import session

    from portal import create_app
    from portal.auth.doors import newsletter_tokens
    from portal.auth.session import FULL, sign_in
    from portal.crm.base import Contact

    app = create_app()
    found: list[list[str]] = []
    with app.test_request_context():
        for n, ref in enumerate(refs):
            if arrival == "newsletter":
                token = newsletter_tokens().make(ref)
                crm.set_token(ref, token)
                found.append([ref, "newsletter", f"/n/{token}"])
                continue
            sign_in(Contact(ref, f"contact{n}@example.org", f"C{n}"), FULL, via="link")
            answer = app.response_class()
            app.session_interface.save_session(app, session, answer)
            cookie = answer.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
            found.append([ref, "session", cookie])
    return found


def visit_alone(base: str, arrival: list[str], items: int) -> None:
    """One contact's visit, as locust makes it, with the budget free."""
    client = requests.Session()
    ref, door, key = arrival
    if door == "session":
        client.cookies.set("session", key, domain="127.0.0.1", path="/")
    else:
        page = client.get(base + key, timeout=30)
        client.post(base + key, data={"csrf_token": CSRF.search(page.text).group(1)},  # type: ignore[union-attr]
                    timeout=30)
    page = client.get(base + "/profile/?lang=en", timeout=30)
    data = {"csrf_token": CSRF.search(page.text).group(1), "first_name": f"Bench{ref}",  # type: ignore[union-attr]
            "topics": ["events"], "action": "save", **{f"sub_item{i}": "y" for i in range(items)}}
    client.post(base + "/profile/", data=data, timeout=30, allow_redirects=False)
    client.get(base + "/profile/?lang=en", timeout=30)


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def pending(work: Path) -> set[str]:
    from portal import create_app
    from portal.delivery import delivery

    return {e.contact_ref for e in delivery(create_app()).ledger.entries()}


def wait_for_the_queue(work: Path, accepted: set[str], until: float) -> float | None:
    """Seconds after the spike until no accepted save is left in the queue, or None."""
    started = time.monotonic()
    while time.monotonic() < until:
        if not (pending(work) & accepted):
            return round(time.monotonic() - started, 1)
        time.sleep(2)
    return None


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The shared counters of the outbound limiter: gunicorn runs two processes."""
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--dir", str(folder)],
                               stdout=(folder / "redis.log").open("wb"), stderr=subprocess.STDOUT)
    time.sleep(0.5)
    return process, f"redis://127.0.0.1:{port}/0"


def run_one(crm_name: str, arrival: str, args: argparse.Namespace, folder: Path,
            redis_url: str, postgres: PostgresServer | None) -> dict[str, Any]:
    work = folder / f"{crm_name}-{arrival.replace(' ', '-')}"
    work.mkdir(parents=True, exist_ok=True)
    # The portal's own database: SQLite in the instance folder, or a fresh
    # PostgreSQL database for this run (this process's app uses it too).
    os.environ.pop("PORTAL_DATABASE_URL", None)
    if postgres is not None:
        os.environ["PORTAL_DATABASE_URL"] = postgres.url(postgres.create_database())
    crm = spike_crm(crm_name)
    crm.start(work)
    refs = crm.seed(args.contacts + 1)
    (work / "portal.toml").write_text(portal_config(crm, redis_url, {}), encoding="utf-8")
    secrets = {k.replace("PORTAL_CRM_TEST_", "PORTAL_CRM_MAIN_"): v for k, v in crm.env().items()}
    env = {**os.environ, **secrets, "PORTAL_CONFIG": str(work / "portal.toml"),
           "PORTAL_INSTANCE": str(work / "instance"), "BENCH_ARRIVALS": str(work / "arrivals.json"),
           "BENCH_RESULTS": str(work / "results.txt"),
           "BENCH_ARRIVED": str(work / "arrived.txt"), "BENCH_ITEMS": str(len(crm.items()))}
    os.environ.update({k: env[k] for k in ("PORTAL_CONFIG", "PORTAL_INSTANCE", *secrets)})
    os.environ.update(crm.env())  # the harness's own adapter checks the CRM afterwards
    arrivals = prepare(crm, refs, arrival)
    (work / "arrivals.json").write_text(json.dumps(arrivals[1:]), encoding="utf-8")
    port = free_port()
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--timeout", "60",
         "wsgi:app"],  # threads as gunicorn.conf.py sets them
        cwd=ROOT, env=env, stdout=(work / "gunicorn.log").open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    server = crm.harness.server
    assert server is not None
    try:
        wait_for(base + "/?lang=en")
        crm.limit_requests()
        server.calls.clear()
        visit_alone(base, arrivals[0], len(crm.items()))
        wait_for_the_queue(work, {arrivals[0][0]}, time.monotonic() + 30)
        alone = [f"{c.method} {c.path}" for c in server.calls]
        time.sleep(11 if crm.name == "hubspot" else 1.5)  # let the budget's window empty
        server.calls.clear()
        server.rate_limited = 0
        started = time.monotonic()
        subprocess.run(
            [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
             "-u", str(args.contacts), "-r", f"{args.contacts / args.spawn_seconds:.2f}",
             "-t", f"{int(args.spawn_seconds + args.tail)}s", "--host", base,
             "--csv", str(work / "locust"), "--only-summary", "--stop-timeout", "10"],
            cwd=ROOT, env=env, check=False, stdout=(work / "locust.log").open("wb"),
            stderr=subprocess.STDOUT)
        elapsed = time.monotonic() - started
        spike_calls, limited = len(server.calls), server.rate_limited
        write_call_counts(work / "spike-calls.txt", server.calls, started)
        accepted = accepted_saves(work)
        drained = wait_for_the_queue(work, accepted, started + args.spawn_seconds + args.drain)
        total_calls, total_limited = len(server.calls), server.rate_limited
    finally:
        web.send_signal(signal.SIGTERM)
        web.wait(30)
    result = measure(crm, arrival, work, refs, accepted, elapsed)
    result.update({
        "CRM calls, one visit alone": len(alone),
        "CRM calls in the spike (to the last page)": spike_calls,
        "CRM calls until the queue was empty": total_calls,
        "CRM calls per visit served": round(total_calls / max(1, result["saw their profile"]), 2),
        "429s answered by the CRM": total_limited,
        "429s during the spike": limited,
        "queue empty, seconds after the spike": drained if drained is not None else "not yet",
    })
    (work / "alone.txt").write_text("\n".join(alone), encoding="utf-8")
    server.stop()
    return result


def write_call_counts(path: Path, calls: list[Any], started: float) -> None:
    """The spike's CRM calls by path, and how many went out in each second."""
    by_path: dict[str, int] = {}
    for call in calls:
        key = f"{call.method} {call.path}"
        by_path[key] = by_path.get(key, 0) + 1
    lines = [f"{n:6d} {key}" for key, n in sorted(by_path.items(), key=lambda kv: -kv[1])]
    seconds = [int(call.at - started) for call in calls]
    lines += ["", "calls per second: " + " ".join(str(seconds.count(s))
                                                  for s in range(max(seconds, default=0) + 1))]
    for refused in (call for call in calls if call.refused):  # what the CRM saw before a 429
        lines += ["", f"429 at {refused.at - started:.3f} s: {refused.method} {refused.path}"]
        lines += [f"  {call.at - refused.at:+.3f} s {call.method} {call.path}" for call in calls
                  if 0 < refused.at - call.at < 1.5 and not call.refused]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def accepted_saves(work: Path) -> set[str]:
    outcomes = [line.split() for line in (work / "results.txt").read_text().splitlines()]
    return {ref for ref, what in outcomes if what == "accepted"}


def stats(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return {row["Name"]: row for row in csv.DictReader(handle)}


def measure(crm: SpikeCrm, arrival: str, work: Path, refs: list[str], accepted: set[str],
            elapsed: float) -> dict[str, Any]:
    outcomes = dict(line.split() for line in (work / "results.txt").read_text().splitlines())
    waiting = pending(work)
    landed = crm.landed(work, sorted(accepted))
    lost = accepted - landed - waiting
    rows = stats(work / "locust_stats.csv")
    total = rows["Aggregated"]
    served = int(rows["view"]["Request Count"]) - int(rows["view"]["Failure Count"]) \
        if "view" in rows else 0
    return {
        "CRM": crm.name, "limit": crm.limit, "arrival": arrival,
        "contacts": len(outcomes), "arrived within s": last_arrival(work),
        "saw their profile": served,
        "pages/s answered": round((int(total["Request Count"]) - int(total["Failure Count"]))
                                  / elapsed, 1),
        "p50 ms": total["50%"], "p95 ms": total["95%"],
        "view p95 ms": rows.get("view", {}).get("95%", "-"),
        "saves accepted": len(accepted), "in the CRM": len(landed & accepted),
        "still queued": len(accepted & waiting - landed), "lost": len(lost),
        # A change applied twice would leave the same note twice (a save writes
        # its audit note and, joining or leaving lists, its consent record).
        "applied twice": twice(crm, sorted(accepted & landed)),
    }


def last_arrival(work: Path) -> float:
    """Seconds from the first contact's arrival to the last's."""
    lines = (work / "arrived.txt").read_text().splitlines()
    return max((float(line.split()[1]) for line in lines), default=0.0)


def twice(crm: SpikeCrm, refs: list[str]) -> int:
    def repeated(notes: list[str]) -> bool:
        marked = [n for n in notes if "[portal change" in n]
        return len(marked) != len(set(marked))
    return sum(1 for ref in refs if repeated(crm.harness.notes(ref)))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--spawn-seconds", type=float, default=60)
    parser.add_argument("--tail", type=float, default=20, help="seconds after the last arrival")
    parser.add_argument("--drain", type=float, default=600,
                        help="seconds from the last arrival the queue may take")
    parser.add_argument("--crms", nargs="+", choices=CRMS, default=list(CRMS))
    parser.add_argument("--arrivals", nargs="+", choices=("newsletter", "magic-link"),
                        default=["newsletter", "magic-link"])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="the portal's own database (PostgreSQL: a local cluster of its own)")
    parser.add_argument("--work", help="folder for logs and figures (default: a new temporary one)")
    args = parser.parse_args()
    folder = Path(args.work or tempfile.mkdtemp(prefix="portal-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    redis, redis_url = start_redis(folder)
    postgres = start_postgres(durable=True) if args.database == "postgresql" else None
    results = []
    try:
        for crm_name in args.crms:
            for arrival in args.arrivals:
                results.append(run_one(crm_name, arrival.replace("-", " "), args, folder,
                                       redis_url, postgres))
                print(json.dumps(results[-1]), flush=True)
    finally:
        redis.terminate()
        redis.wait(10)
        if postgres is not None:
            stop_postgres(postgres)
    print(f"Logs and locust figures: {folder}")
    keys = list(results[0])
    print("\n| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for result in results:
        print("| " + " | ".join(str(result[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
