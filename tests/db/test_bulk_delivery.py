"""A bulk delivery's bookkeeping in the portal's database, on SQLite and on a
real PostgreSQL: a few write transactions for the whole group however many
contacts it carries (on SQLite each one takes the one writer's turn that
contacts' pages wait for), and only entries that may go now taken along."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine, event

from portal.crm.base import Change
from portal.db import database
from portal.delivery.ledger import Entry, Ledger, new_entry
from tests.db.test_shared_work import all_at_once
from tests.resilience.test_bulk_writes import change, hub, writer_for  # noqa: F401 - hub is a fixture
from tests.support.config import STRONG_KEY

WRITES = ("INSERT", "UPDATE", "DELETE")
# Claim the entry, claim its companions, remove what landed (all of it: none to release).
BULK_WRITE_TRANSACTIONS = 3


@contextmanager
def write_transactions(engine: Engine) -> Iterator[list[str]]:
    """The transactions committed on `engine` in the block that wrote (or, on
    SQLite, held the write lock from BEGIN IMMEDIATE): one line each, its
    statements' first three words ("INSERT INTO sessions")."""
    committed: list[str] = []

    def statement(conn: Any, _cursor: Any, text: str, *_: Any) -> None:
        words = " ".join(text.split()[:3])
        if words.upper().startswith(WRITES) or words.upper() == "BEGIN IMMEDIATE":
            conn.info.setdefault("writes", []).append(words)

    def commit(conn: Any) -> None:
        if conn.info.get("writes"):
            committed.append(", ".join(conn.info.pop("writes")))

    def rollback(conn: Any) -> None:
        conn.info.pop("writes", None)

    listeners = [("before_cursor_execute", statement), ("commit", commit),
                 ("rollback", rollback)]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        yield committed
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)


def test_one_bulk_delivery_takes_a_few_write_transactions_and_only_what_may_go(
        hub, db_app, tmp_path):  # noqa: F811
    server, state = hub
    db = database(db_app)
    writer, ledger, _ = writer_for(server, tmp_path, database=db)
    count, start = 40, time.time() - 60
    refs = [state.add_contact(f"c{n}@example.org") for n in range(count + 2)]

    def entry(n: int, name: str, created: float, **changed: Any) -> Entry:
        made = new_entry("hs", change(refs[n], n, name), 3600)
        return replace(made, **{"created": created, "next_try": created, **changed})

    group = [entry(n, f"Bulk{n}", start + n) for n in range(count)]
    later = entry(0, "Later", start + count)  # the same contact as the first, after it
    not_due = entry(count, "NotDue", start, next_try=time.time() + 600)
    after_not_due = entry(count, "AfterNotDue", start + count)  # its contact's order holds
    leased = entry(count + 1, "Leased", start)  # another worker holds it
    after_leased = entry(count + 1, "AfterLeased", start + count)
    for kept in [*group, later, not_due, after_not_due, leased, after_leased]:
        ledger.add([kept])
    assert ledger.claim(leased.id, 60) is not None
    server.calls.clear()

    with write_transactions(db.engine) as committed:
        writer.deliver(group[0].id)

    assert all(state.contacts[refs[n]]["properties"]["firstname"] == f"Bulk{n}"
               for n in range(count))
    assert len(server.calls) == 4  # one bulk write: properties, the list, the v4 states, the notes
    assert len(committed) <= BULK_WRITE_TRANSACTIONS, committed
    left = {e.id for e in ledger.entries()}
    assert left == {later.id, not_due.id, after_not_due.id, leased.id, after_leased.id}
    assert all(state.contacts[refs[n]]["properties"].get("firstname") in ("", None)
               for n in (count, count + 1))
    assert ledger.leased(leased.id)  # still the other worker's
    assert not any(ledger.leased(e) for e in left - {leased.id})  # free for the next worker


def test_workers_taking_companions_at_once_never_hold_the_same_entry(db_app):
    ledger = Ledger(database(db_app), STRONG_KEY)
    waiting = [new_entry("main", Change(contact_ref=str(n), email=f"c{n}@example.org"), 3600)
               for n in range(40)]
    ledger.add(waiting)
    delivering = [new_entry("main", Change(contact_ref=f"w{n}", email=f"w{n}@example.org"), 3600)
                  for n in range(6)]
    taken = all_at_once(6, lambda n: [e.id for e, _ in
                                      ledger.claim_companions(delivering[n], 10, 30)])
    held = [entry_id for ids in taken for entry_id in ids]
    assert len(held) == len(set(held)) and held, taken
    assert all(ledger.leased(entry_id) for entry_id in held)
    rest = [e.id for e, _ in ledger.claim_companions(delivering[0], 40, 30)]
    assert not set(rest) & set(held)  # held ones are not offered again
    assert sorted(held + rest) == sorted(e.id for e in waiting)
