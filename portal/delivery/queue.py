"""The queue that delivers kept changes: Huey on SQLite or Redis.

Huey carries only wake-ups ("deliver entry X", now or after a delay), and
they may be lost: with a killed worker, a Redis that restarts, an enqueue
that fails. The ledger (portal.delivery.ledger, in the portal's database)
holds the entries themselves, and the writer decides what a delivery does.
A sweep enqueues again every pending entry overdue by
`sweep_after_seconds` that no worker holds: that is how a lost wake-up
comes back. It runs at every worker start, every minute (a Huey periodic
task, itself a wake-up that may be lost), and, riding on the requests a web
process serves, at most once per `sweep_after_seconds` in each process.

Two ways to run the workers:
- embedded (the default): threads inside the web process, started by its
  first request, so `make run` needs nothing else;
- separate: `embedded_worker = false` and, beside the web server,
  `PORTAL_CONFIG=... huey_consumer portal.worker.huey -w 2 -m 1`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey
from huey.consumer import Consumer

from portal.config.resilience import Resilience
from portal.crm.base import BACKGROUND, calls_under
from portal.db.engine import Every
from portal.delivery.ledger import Ledger

log = logging.getLogger(__name__)


class _EmbeddedConsumer(Consumer):
    def _set_signal_handlers(self) -> None:
        return None  # the web server owns the process's signals


class ChangeQueue:
    def __init__(self, app: Flask, settings: Resilience, ledger: Ledger, path: Path,
                 deliver: Callable[[str], None]) -> None:
        """`deliver(entry_id)` is the writer's delivery of one ledger entry."""
        self.settings = settings
        self.ledger = ledger
        self.huey = build_huey(settings, path)
        self._consumer: Consumer | None = None
        self._lock = threading.Lock()
        self._sweeping = Every(max(1.0, settings.sweep_after_seconds))

        @self.huey.task(name="deliver")
        def deliver_task(entry_id: str) -> None:
            with app.app_context(), calls_under(BACKGROUND):
                deliver(entry_id)

        @self.huey.periodic_task(crontab(minute="*"), name="sweep")
        def sweep_every_minute() -> None:
            self.sweep()

        @self.huey.on_startup()
        def sweep_at_start() -> None:
            self.sweep()

        self._deliver = deliver_task

    def wake(self, entry_id: str, when: float) -> None:
        """Have a worker deliver the entry at `when` (epoch seconds). A wake-up
        that cannot be enqueued is left to the sweep: the entry is kept."""
        delay = when - time.time()
        try:
            if delay > 0.5:
                self._deliver.schedule(args=(entry_id,), delay=delay)
            else:
                self._deliver(entry_id)
        except Exception as exc:  # the queue's storage (Redis) is away
            log.warning("No wake-up enqueued for entry %s (%s): the sweep will find it.",
                        entry_id, exc)

    def sweep(self) -> int:
        """Enqueue again every pending entry overdue by `sweep_after_seconds`
        that no worker holds; return how many."""
        found = self.ledger.due(time.time() - self.settings.sweep_after_seconds)
        for entry_id in found:
            self._deliver(entry_id)
        if found:
            log.info("Sweep enqueued %d overdue entr%s again", len(found),
                     "y" if len(found) == 1 else "ies")
        return len(found)

    def sweep_when_due(self) -> None:
        """Sweep if this process has not for `sweep_after_seconds`; never fail
        the request it rides on."""
        if self._sweeping.due():
            try:
                self.sweep()
            except Exception as exc:  # the database or Redis is away: the next one will do
                log.warning("Sweep skipped: %s", exc)

    # --- embedded workers ---------------------------------------------------------

    def start_worker(self) -> None:
        """Run the queue's workers as threads of this process (idempotent)."""
        with self._lock:
            if self._consumer is not None:
                return
            self._consumer = _EmbeddedConsumer(
                self.huey, workers=self.settings.worker_threads, periodic=True,
                max_delay=self.settings.worker_poll_seconds, check_worker_health=False,
                shutdown_timeout=10)
            self._consumer.start()

    def stop_worker(self) -> None:
        with self._lock:
            if self._consumer is not None:
                self._consumer.stop(graceful=True)
                self._consumer = None

    @property
    def running(self) -> bool:
        return self._consumer is not None


def build_huey(settings: Resilience, path: Path) -> Huey:
    """Huey on Redis, or on the SQLite file at `path`."""
    if settings.queue == "redis":
        return RedisHuey("portal", url=settings.redis, results=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("portal", filename=str(path), results=False)


def start_with_requests(app: Flask, queue: ChangeQueue, embedded: bool) -> None:
    """Start the embedded workers (if `embedded`) with the first request the
    app serves: the web server's own worker processes get them (after any
    fork), while `flask` commands, which serve no requests, never do. Every
    request may then run a sweep that is due."""
    started = threading.Event()

    @app.before_request
    def _start_queue() -> None:
        if embedded and not started.is_set():
            started.set()
            queue.start_worker()
        queue.sweep_when_due()
