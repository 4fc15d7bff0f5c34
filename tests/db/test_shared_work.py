"""What every worker of every machine shares through the portal's database,
on SQLite and on a real PostgreSQL: the ledger's leases (no entry taken
twice), OAuth tokens (one refresh among many workers) and the outbound
request counters (one CRM budget for every worker)."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from portal.crm.base import BACKGROUND, CallPolicy, Change, CrmRateLimited, calls_under
from portal.crm.limiter import SharedLimiter
from portal.crm.oauth import TokenManager
from portal.db import database
from portal.delivery.ledger import Ledger, new_entry
from portal.delivery.oauth_tokens import database_token_stores
from portal.delivery.request_window import DatabaseWindow
from tests.crm.test_limiter_stamps import (
    a_page_arriving_as_slots_lapse_waits_for_their_margin_alone,
    a_slot_moved_counts_from_its_new_time,
)
from tests.crm.test_oauth import client, fake, token_calls  # noqa: F401 - fake is a fixture
from tests.db.test_privacy import everything_stored
from tests.support.config import STRONG_KEY

NO_WAIT = CallPolicy(wait=False)  # a free slot now, or CrmRateLimited at once


def all_at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in `count` threads released together; their results."""
    results: list[Any] = [None] * count
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = work(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_eight_workers_claim_one_entry_once(db_app):
    ledger = Ledger(database(db_app), STRONG_KEY)
    entry = new_entry("main", Change(contact_ref="42", email="ane@example.org"), 3600)
    ledger.add([entry])
    taken = all_at_once(8, lambda _: ledger.claim(entry.id, 30))
    assert sum(1 for lease in taken if lease is not None) == 1
    assert ledger.leased(entry.id)
    assert ledger.due(time.time() + 1) == []  # held: the sweep leaves it alone
    ledger.release(settled=[entry.id])
    assert ledger.due(time.time() + 1) == [entry.id]


def test_the_sweep_finds_every_due_entry_and_only_those(db_app):
    ledger = Ledger(database(db_app), STRONG_KEY)
    due = [new_entry("main", Change(contact_ref=str(n), email=f"c{n}@example.org"), 3600)
           for n in range(3)]
    later = new_entry("main", Change(contact_ref="9", email="later@example.org"), 3600)
    ledger.add([*due, later])
    ledger.save(replace(later, next_try=time.time() + 600))
    assert sorted(ledger.due(time.time())) == sorted(e.id for e in due)


def test_a_kept_change_is_sealed_in_the_database(db_app):
    ledger = Ledger(database(db_app), STRONG_KEY)
    change = Change(contact_ref="42", email="hidden.person@example.org", name="Hidden Person")
    ledger.add([new_entry("main", change, 3600, error="No contact hidden.person@example.org")])
    assert ledger.entries()[0].change.email == "hidden.person@example.org"
    stored = everything_stored(db_app)
    assert b"hidden.person" not in stored and b"hidden person" not in stored
    # Another secret key reads nothing (and breaks nothing).
    assert Ledger(database(db_app), STRONG_KEY + "x").entries() == []


def test_workers_with_their_own_token_managers_refresh_once(db_app, fake):  # noqa: F811
    fake.faults.latency = 0.2  # a slow token endpoint widens the window for a stampede
    stores = database_token_stores(database(db_app), STRONG_KEY, Path(db_app.instance_path))
    managers = [TokenManager(client(fake), stores("main")) for _ in range(6)]
    seen = all_at_once(6, lambda i: managers[i].access_token())
    assert token_calls(fake) == 1 and len(set(seen)) == 1
    # A worker started later, on another machine, reads the same token.
    assert TokenManager(client(fake), stores("main")).access_token() == seen[0]
    assert seen[0].encode() not in everything_stored(db_app)  # sealed
    assert token_calls(fake) == 1


def test_a_slot_counted_in_the_database_moves_to_when_its_call_went_out(db_app):
    a_slot_moved_counts_from_its_new_time(DatabaseWindow(database(db_app)))


def test_a_page_arriving_as_database_slots_lapse_waits_for_their_margin_alone(db_app):
    a_page_arriving_as_slots_lapse_waits_for_their_margin_alone(DatabaseWindow(database(db_app)))


def test_two_servers_counting_in_the_database_keep_one_budget(db_app):
    limiters = [SharedLimiter(DatabaseWindow(database(db_app)), {"main": "5/minute"})
                for _ in range(2)]

    def queue_call(index: int) -> bool:
        with calls_under(BACKGROUND), calls_under(NO_WAIT):  # queue work that does not wait
            try:
                limiters[index % 2].acquire("main")
            except CrmRateLimited:
                return False
            return True

    took = all_at_once(8, lambda i: contextvars.copy_context().run(queue_call, i))
    # Eight queue calls at once from two servers: three of the five slots go
    # to them, two stay for contacts' pages; then the budget is spent for all.
    assert took.count(True) == 3
    with calls_under(NO_WAIT):
        limiters[1].acquire("main")
        limiters[0].acquire("main")
        with pytest.raises(CrmRateLimited):
            limiters[1].acquire("main")
