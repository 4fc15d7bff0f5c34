"""A separate queue worker (`huey_consumer`, as production runs it) killed with
SIGKILL while it holds a job: another worker finishes the change, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from portal.crm.base import Change, Note
from portal.delivery import Delivery, delivery
from tests.resilience.conftest import EMAIL, save, signed_in_client, wait_until

CONSUMER = str(Path(sys.executable).with_name("huey_consumer"))


def start_consumer(tmp_path: Path, log_name: str) -> subprocess.Popen:
    env = {**os.environ, "PORTAL_CONFIG": str(tmp_path / "instance.toml"),
           "PORTAL_INSTANCE": str(tmp_path / "instance")}
    log = (tmp_path / log_name).open("wb")
    return subprocess.Popen([CONSUMER, "portal.worker.huey", "-w", "1", "-m", "0.1"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def kill_first_worker_when(moment: Callable[[], bool], tmp_path: Path) -> None:
    """Start a worker and kill it (SIGKILL) at `moment`."""
    first = start_consumer(tmp_path, "worker-1.log")
    try:
        wait_until(moment, 20, "the moment to kill the worker")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()


def let_a_second_worker_finish(services: Delivery, entry_id: str, tmp_path: Path) -> None:
    """Once the dead worker's lease ends, another worker delivers the entry."""
    wait_until(lambda: not services.ledger.leased(entry_id), 40, "the dead worker's lease to end")
    second = start_consumer(tmp_path, "worker-2.log")
    try:
        wait_until(lambda: services.ledger.get(entry_id) is None, 30, "the second worker")
    finally:
        second.send_signal(signal.SIGINT)
        try:
            second.wait(10)
        except subprocess.TimeoutExpired:
            second.kill()


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

    def mid_request() -> bool:
        return services.ledger.leased(entry.id) and len(ac.server.calls) > before

    kill_first_worker_when(mid_request, tmp_path)  # lease held
    assert services.ledger.get(entry.id) is not None  # not lost with the worker
    ac.server.faults.latency = 0
    let_a_second_worker_finish(services, entry.id, tmp_path)
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

    # The CRM wrote it; its answer never comes back.
    kill_first_worker_when(lambda: len(ac.notes()) == 1, tmp_path)
    ac.hold_after.clear()
    let_a_second_worker_finish(services, entry.id, tmp_path)
    assert len([n for n in ac.notes() if "written once" in n]) == 1
