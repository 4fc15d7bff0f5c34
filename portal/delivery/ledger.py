"""The ledger of changes not yet in a CRM: the truth about what is pending.

It lives in the portal's database (SQLite on one machine, PostgreSQL when
several share the work), so it is as durable as the database and every
worker on every machine sees one ledger. Each entry is sealed (it holds
the contact's email and what they changed); the columns beside it say only
what the queue searches by.

Huey carries wake-ups (deliver entry X, now or at that time), which may be
lost; the ledger keeps each entry until it lands, and the sweep finds every
pending entry that is due and held by no worker. A worker holds an entry by
a lease, a time written in its row: taken with SELECT ... FOR UPDATE SKIP
LOCKED on PostgreSQL (two workers never wait for each other, nor take the
same entry), inside SQLite's write lock on one machine. A worker killed
mid-job holds the entry only until its lease runs out.

It also answers what the pages and `portal queue` need: the pending
changes of one contact (read your own writes) and every entry with its
last error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import Connection, Select, bindparam, delete, exists, insert, select, tuple_, update
from sqlalchemy.orm import aliased

from portal.crm.base import Change
from portal.db.engine import Database
from portal.db.keys import Keys, seal, unseal
from portal.db.shared_models import LedgerRow

PENDING, FAILED = "pending", "failed"
# lease_until of an entry whose every delivery ended with the ledger told how
# it went; one released without that (or never released: its worker died)
# keeps a non-zero value, so the next worker knows part of it may be sent.
SETTLED, CUT_OFF = 0.0, 1.0
_SAVE = update(LedgerRow).where(LedgerRow.id == bindparam("b_id"))
_FOR_CONTACT = (select(LedgerRow.id, LedgerRow.sealed_entry)
                .where(LedgerRow.crm == bindparam("crm"),
                       LedgerRow.contact_ref == bindparam("contact_ref"))
                .order_by(LedgerRow.created, LedgerRow.id))


@dataclass(frozen=True)
class Entry:
    """One change on its way to one CRM. `contact_ref` is the main CRM's ref,
    also for mirrors, so a contact's entries are found together."""

    crm: str
    change: Change
    contact_ref: str
    created: float
    deadline: float  # past it, the entry is failed (kept and flagged), not retried
    next_try: float
    status: str = PENDING
    attempts: int = 0
    last_error: str = ""

    @property
    def id(self) -> str:
        return f"{self.crm}:{self.change.id}"

    def to_json(self) -> str:
        raw = asdict(self)
        raw["change"] = self.change.to_json()
        return json.dumps(raw)

    @classmethod
    def from_json(cls, text: str | bytes) -> Entry:
        raw = json.loads(text)
        raw["change"] = Change.from_json(raw["change"])
        return cls(**raw)


def new_entry(crm: str, change: Change, deadline_seconds: float, error: str = "") -> Entry:
    now = time.time()
    return Entry(crm=crm, change=change, contact_ref=change.contact_ref, created=now,
                 deadline=now + deadline_seconds, next_try=now, last_error=error)


def retried(entry: Entry, deadline_seconds: float) -> Entry:
    """The entry as an operator's retry makes it: pending now, with a fresh deadline."""
    now = time.time()
    return replace(entry, status=PENDING, next_try=now, deadline=now + deadline_seconds)


class Ledger:
    def __init__(self, database: Database, secret_key: str) -> None:
        self.database = database
        self.key = Keys(secret_key).derive("ledger entry")

    # sealing ------------------------------------------------------------------

    def _seal(self, entry: Entry) -> bytes:
        return seal(self.key, entry.to_json().encode(), entry.id.encode())

    def _open(self, row: Any) -> Entry | None:
        """The entry of a row (id, sealed_entry); None if another secret key sealed it."""
        opened = unseal(self.key, row.sealed_entry, row.id.encode())
        return Entry.from_json(opened) if opened is not None else None

    def _columns(self, entry: Entry) -> dict[str, Any]:
        return {"status": entry.status, "next_try": entry.next_try,
                "sealed_entry": self._seal(entry)}

    # entries ------------------------------------------------------------------

    def add(self, entries: Sequence[Entry]) -> None:
        """Keep `entries` in one transaction: all of them, or none."""
        if not entries:
            return
        with self.database.transaction() as db:
            for entry in entries:
                db.execute(delete(LedgerRow).where(LedgerRow.id == entry.id))
                db.execute(insert(LedgerRow), dict(
                    id=entry.id, crm=entry.crm, contact_ref=entry.contact_ref,
                    created=entry.created, lease_until=SETTLED, **self._columns(entry)))

    def get(self, entry_id: str) -> Entry | None:
        with self.database.transaction() as db:
            row = db.execute(select(LedgerRow.id, LedgerRow.sealed_entry)
                             .where(LedgerRow.id == entry_id)).first()
        return self._open(row) if row else None

    def save(self, entry: Entry) -> None:
        """Write a changed entry back; an entry removed meanwhile stays removed."""
        with self.database.transaction() as db:
            db.execute(_SAVE, {"b_id": entry.id, **self._columns(entry)})

    def remove(self, entry_ids: Collection[str]) -> None:
        """Take the entries out of the ledger, in one transaction."""
        if not entry_ids:
            return
        with self.database.transaction() as db:
            db.execute(delete(LedgerRow).where(LedgerRow.id.in_(entry_ids)))

    def for_contact(self, crm: str, contact_ref: str) -> list[Entry]:
        """The contact's entries for `crm`, oldest first."""
        with self.database.reading() as db:  # every profile page asks
            rows = db.execute(_FOR_CONTACT, {"crm": crm, "contact_ref": contact_ref}).all()
        return [entry for entry in map(self._open, rows) if entry is not None]

    def entries(self) -> list[Entry]:
        """Every entry, oldest first."""
        with self.database.transaction() as db:
            rows = db.execute(select(LedgerRow.id, LedgerRow.sealed_entry)
                              .order_by(LedgerRow.created, LedgerRow.id)).all()
        return [entry for entry in map(self._open, rows) if entry is not None]

    # leases -------------------------------------------------------------------

    def due(self, before: float, limit: int = 500) -> list[str]:
        """The ids of pending entries due by `before` that no worker holds, oldest first."""
        now = time.time()
        with self.database.transaction() as db:
            found = db.execute(
                select(LedgerRow.id)
                .where(LedgerRow.status == PENDING, LedgerRow.next_try <= before,
                       LedgerRow.lease_until < now)
                .order_by(LedgerRow.created).limit(limit)
                .with_for_update(skip_locked=True)).scalars().all()
        return list(found)

    def claim(self, entry_id: str, seconds: float) -> Lease | None:
        """Hold the entry for `seconds` unless another worker holds it."""
        return self.claim_many([entry_id], seconds).get(entry_id)

    def claim_many(self, entry_ids: Collection[str], seconds: float) -> dict[str, Lease]:
        """Hold for `seconds`, in one transaction, each of the entries that no
        other worker holds; their leases by id."""
        now = time.time()
        with self.database.exclusive() as db:  # SQLite: the write lock from the first read
            rows = db.execute(select(LedgerRow.id, LedgerRow.lease_until)
                              .where(LedgerRow.id.in_(entry_ids), LedgerRow.lease_until < now)
                              .with_for_update(skip_locked=True)).all()
            return _hold(db, rows, now + seconds)

    def claim_companions(self, entry: Entry, count: int, seconds: float
                         ) -> list[tuple[Entry, Lease]]:
        """Hold for `seconds`, in one transaction, up to `count` entries that may
        go to the CRM along with `entry`: pending, due, held by no worker, of
        other contacts, each its contact's oldest pending entry (one whose
        oldest waits or is held gives none: a contact's changes land in order);
        oldest first. Only those taken are unsealed."""
        now = time.time()
        found = _companions_of(entry, now).limit(count)
        with self.database.reading() as db:  # most deliveries find none: no write lock for them
            if db.execute(select(found.exists())).scalar() is not True:
                return []
        with self.database.exclusive() as db:
            rows = db.execute(found.with_for_update(skip_locked=True)).all()
            opened = [(row, other) for row in rows if (other := self._open(row)) is not None]
            leases = _hold(db, [row for row, _ in opened], now + seconds)
        return [(other, leases[row.id]) for row, other in opened]

    def release(self, *, settled: Collection[str] = (), cut_off: Collection[str] = ()) -> None:
        """Let other workers take the entries, in one transaction. `settled`:
        this delivery told the ledger how it went (failed, or when to try
        again); `cut_off`: it ended before that, so part may have been sent."""
        if not settled and not cut_off:
            return
        with self.database.transaction() as db:
            for ids, until in ((settled, SETTLED), (cut_off, CUT_OFF)):
                if ids:
                    db.execute(update(LedgerRow).where(LedgerRow.id.in_(ids))
                               .values(lease_until=until))

    def leased(self, entry_id: str) -> bool:
        with self.database.transaction() as db:
            until = db.execute(select(LedgerRow.lease_until)
                               .where(LedgerRow.id == entry_id)).scalar()
        return until is not None and until > time.time()


@dataclass(frozen=True)
class Lease:
    # An earlier delivery ended before the ledger heard how it went: some of
    # the change may have reached the CRM whatever the entry's attempts say.
    cut_off: bool


def _companions_of(entry: Entry, now: float) -> Select[str, bytes, float]:
    """The rows (id, sealed_entry, lease_until) of the entries that may go with
    `entry` at `now` (see `Ledger.claim_companions`), oldest first."""
    older = aliased(LedgerRow)
    return (select(LedgerRow.id, LedgerRow.sealed_entry, LedgerRow.lease_until)
            .where(LedgerRow.crm == entry.crm, LedgerRow.status == PENDING,
                   LedgerRow.next_try <= now, LedgerRow.lease_until < now,
                   LedgerRow.contact_ref != entry.contact_ref,
                   ~exists().where(older.crm == LedgerRow.crm,
                                   older.contact_ref == LedgerRow.contact_ref,
                                   older.status == PENDING,
                                   tuple_(older.created, older.id)
                                   < tuple_(LedgerRow.created, LedgerRow.id)))
            .order_by(LedgerRow.created, LedgerRow.id))


def _hold(db: Connection, rows: Sequence[Any], until: float) -> dict[str, Lease]:
    """Lease the rows (id, lease_until), locked by this transaction, until
    `until`; each one's lease, from the lease_until it had."""
    if rows:
        db.execute(update(LedgerRow).where(LedgerRow.id.in_([row.id for row in rows]))
                   .values(lease_until=until))
    return {row.id: Lease(cut_off=float(row.lease_until) != SETTLED) for row in rows}


def pending_changes(ledger: Ledger, crm: str, contact_ref: str) -> list[Change]:
    """The contact's changes still on their way to `crm`, oldest first."""
    return [e.change for e in ledger.for_contact(crm, contact_ref) if e.status == PENDING]
