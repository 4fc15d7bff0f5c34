"""A separate queue worker (`huey_consumer`, as production runs it) killed with
SIGKILL while it holds a job: another worker finishes the change, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from portal.crm.base import Change, Note
from portal.delivery import delivery
from tests.resilience.conftest import EMAIL, save, signed_in_client, wait_until

CONSUMER = str(Path(sys.executable).with_name("huey_consumer"))


def start_consumer(tmp_path: Path, log_name: str) -> subprocess.Popen:
    env = {**os.environ, "PORTAL_CONFIG": str(tmp_path / "instance.toml"),
           "PORTAL_INSTANCE": str(tmp_path / "instance")}
    log = (tmp_path / log_name).open("wb")
    return subprocess.Popen([CONSUMER, "portal.worker.huey", "-w", "1", "-m", "0.1"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.parametrize("mode", ["sqlite", "redis"])
def test_worker_killed_while_holding_a_job(portal_for, ac, smtp, tmp_path, request, mode):
    settings: dict = {"embedded_worker": False}
    if mode == "redis":
        url = request.getfixturevalue("redis_url")
        redis.Redis.from_url(url).flushdb()
        settings.update(queue="redis", cache="redis", redis_url=url)
    # read_timeout above the CRM's latency below: the job is slow, not failing.
    app = portal_for(resilience=settings, main_options="read_timeout = 10")
    services = delivery(app)
    client = signed_in_client(app, smtp)
    client.get("/profile/")
    ac.server.faults.fail_next = 1  # the save's own try fails: the change is queued
    save(client, ac, first_name="Survivor", comments="Written exactly once.")
    [entry] = services.ledger.entries()
    ac.server.faults.latency = 3.0
    before = len(ac.server.calls)

    first = start_consumer(tmp_path, "worker-1.log")
    try:
        wait_until(lambda: services.ledger.leased(entry.id), 20, "the worker to take the job")
        wait_until(lambda: len(ac.server.calls) > before, 10, "the worker to call the CRM")
        first.send_signal(signal.SIGKILL)  # mid-request, lease held
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert services.ledger.get(entry.id) is not None  # not lost with the worker
    ac.server.faults.latency = 0

    wait_until(lambda: not services.ledger.leased(entry.id), 10, "the dead worker's lease to end")
    second = start_consumer(tmp_path, "worker-2.log")
    try:
        wait_until(lambda: services.ledger.get(entry.id) is None, 30, "the second worker")
    finally:
        second.send_signal(signal.SIGINT)
        try:
            second.wait(10)
        except subprocess.TimeoutExpired:
            second.kill()
    assert ac.row["firstName"] == "Survivor"
    assert len([n for n in ac.notes() if "Written exactly once." in n]) == 1


def test_worker_killed_after_the_crm_took_a_note_of_a_first_try(portal_for, ac, tmp_path):
    """A change no one tried yet (kept for the background, nothing sent): the
    worker's note reaches the CRM, then the worker dies before it can say so.
    The next worker must look before it writes the note again."""
    app = portal_for(resilience={"embedded_worker": False})
    services = delivery(app)
    change = Change(contact_ref=ac.contact, email=EMAIL,
                    notes=(Note("Portal", "Kept for the background, written once."),))
    with app.app_context():
        services.writer.submit(change, now=False)
    [entry] = services.ledger.entries()
    assert entry.attempts == 0
    ac.hold_after["POST /api/3/notes"] = 5.0

    first = start_consumer(tmp_path, "worker-1.log")
    try:
        wait_until(lambda: len(ac.notes()) == 1, 20, "the CRM to take the note")
        first.send_signal(signal.SIGKILL)  # the CRM wrote it; its answer never came back
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    ac.hold_after.clear()

    wait_until(lambda: not services.ledger.leased(entry.id), 40, "the dead worker's lease to end")
    second = start_consumer(tmp_path, "worker-2.log")
    try:
        wait_until(lambda: services.ledger.get(entry.id) is None, 30, "the second worker")
    finally:
        second.send_signal(signal.SIGINT)
        try:
            second.wait(10)
        except subprocess.TimeoutExpired:
            second.kill()
    assert len([n for n in ac.notes() if "written once" in n]) == 1
