"""The ledger of changes not yet in a CRM: the truth about what is pending.

Huey carries the wake-ups (run this entry now, or at that time); the ledger
keeps each entry until it lands, so a worker killed mid-job loses nothing:
the sweep finds the entry unleased and overdue and enqueues it again. It
also answers what the pages and `portal queue` need: the pending changes of
one contact (read your own writes) and every entry with its last error.

SQLite on one machine, Redis when several servers share the work.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from portal.crm.base import Change

PENDING, FAILED = "pending", "failed"


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


class Ledger(Protocol):
    def add(self, entry: Entry) -> None: ...
    def get(self, entry_id: str) -> Entry | None: ...
    def save(self, entry: Entry) -> None: ...
    def remove(self, entry_id: str) -> None: ...
    def for_contact(self, crm: str, contact_ref: str) -> list[Entry]: ...
    def entries(self) -> list[Entry]: ...
    def claim(self, entry_id: str, seconds: float) -> bool: ...
    def release(self, entry_id: str) -> None: ...
    def leased(self, entry_id: str) -> bool: ...


def pending_changes(ledger: Ledger, crm: str, contact_ref: str) -> list[Change]:
    """The contact's changes still on their way to `crm`, oldest first."""
    return [e.change for e in ledger.for_contact(crm, contact_ref) if e.status == PENDING]


def build_ledger(kind: str, path: Path, redis_url: str) -> Ledger:
    if kind == "redis":
        return RedisLedger(redis_url)
    return SqliteLedger(path)


# --- SQLite --------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id TEXT PRIMARY KEY,
    crm TEXT NOT NULL,
    contact_ref TEXT NOT NULL,
    created REAL NOT NULL,
    body TEXT NOT NULL,
    lease_until REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS entries_contact ON entries(crm, contact_ref, created);
"""


class SqliteLedger:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=15, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        try:
            yield db
        finally:
            db.close()

    def add(self, entry: Entry) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO entries (id, crm, contact_ref, created, body) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (entry.id, entry.crm, entry.contact_ref, entry.created, entry.to_json()))

    def get(self, entry_id: str) -> Entry | None:
        with self._db() as db:
            row = db.execute("SELECT body FROM entries WHERE id = ?", (entry_id,)).fetchone()
        return Entry.from_json(row[0]) if row else None

    def save(self, entry: Entry) -> None:
        with self._db() as db:
            db.execute("UPDATE entries SET body = ? WHERE id = ?", (entry.to_json(), entry.id))

    def remove(self, entry_id: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM entries WHERE id = ?", (entry_id,))

    def for_contact(self, crm: str, contact_ref: str) -> list[Entry]:
        with self._db() as db:
            rows = db.execute("SELECT body FROM entries WHERE crm = ? AND contact_ref = ? "
                              "ORDER BY created", (crm, contact_ref)).fetchall()
        return [Entry.from_json(r[0]) for r in rows]

    def entries(self) -> list[Entry]:
        with self._db() as db:
            rows = db.execute("SELECT body FROM entries ORDER BY created").fetchall()
        return [Entry.from_json(r[0]) for r in rows]

    def claim(self, entry_id: str, seconds: float) -> bool:
        now = time.time()
        with self._db() as db:
            done = db.execute("UPDATE entries SET lease_until = ? WHERE id = ? AND lease_until < ?",
                              (now + seconds, entry_id, now))
        return done.rowcount == 1

    def release(self, entry_id: str) -> None:
        with self._db() as db:
            db.execute("UPDATE entries SET lease_until = 0 WHERE id = ?", (entry_id,))

    def leased(self, entry_id: str) -> bool:
        with self._db() as db:
            row = db.execute("SELECT lease_until FROM entries WHERE id = ?", (entry_id,)).fetchone()
        return bool(row) and row[0] > time.time()


# --- Redis ---------------------------------------------------------------------


class RedisLedger:
    """Each entry a key; a sorted set per contact and one for all, by creation
    time; a lease is a key that expires on its own."""

    prefix = "portal:ledger:"

    def __init__(self, url: str) -> None:
        import redis

        self.redis: Any = redis.Redis.from_url(url)

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def add(self, entry: Entry) -> None:
        pipe = self.redis.pipeline()
        pipe.set(self._k("entry", entry.id), entry.to_json())
        pipe.zadd(self._k("all"), {entry.id: entry.created})
        pipe.zadd(self._k("contact", entry.crm, entry.contact_ref), {entry.id: entry.created})
        pipe.execute()

    def get(self, entry_id: str) -> Entry | None:
        body = self.redis.get(self._k("entry", entry_id))
        return Entry.from_json(body) if body else None

    def save(self, entry: Entry) -> None:
        # xx: never bring back an entry another worker removed meanwhile.
        self.redis.set(self._k("entry", entry.id), entry.to_json(), xx=True)

    def remove(self, entry_id: str) -> None:
        entry = self.get(entry_id)
        pipe = self.redis.pipeline()
        pipe.delete(self._k("entry", entry_id), self._k("lease", entry_id))
        pipe.zrem(self._k("all"), entry_id)
        if entry is not None:
            pipe.zrem(self._k("contact", entry.crm, entry.contact_ref), entry_id)
        pipe.execute()

    def _load(self, ids: list[bytes]) -> list[Entry]:
        if not ids:
            return []
        bodies = self.redis.mget([self._k("entry", i.decode()) for i in ids])
        return [Entry.from_json(b) for b in bodies if b]

    def for_contact(self, crm: str, contact_ref: str) -> list[Entry]:
        return self._load(self.redis.zrange(self._k("contact", crm, contact_ref), 0, -1))

    def entries(self) -> list[Entry]:
        return self._load(self.redis.zrange(self._k("all"), 0, -1))

    def claim(self, entry_id: str, seconds: float) -> bool:
        return bool(self.redis.set(self._k("lease", entry_id), "1", nx=True,
                                   px=max(1, int(seconds * 1000))))

    def release(self, entry_id: str) -> None:
        self.redis.delete(self._k("lease", entry_id))

    def leased(self, entry_id: str) -> bool:
        return bool(self.redis.exists(self._k("lease", entry_id)))


def retried(entry: Entry, deadline_seconds: float) -> Entry:
    """The entry as an operator's retry makes it: pending now, with a fresh deadline."""
    now = time.time()
    return replace(entry, status=PENDING, next_try=now, deadline=now + deadline_seconds)
