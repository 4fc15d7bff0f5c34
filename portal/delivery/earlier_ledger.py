"""Changes an earlier version of the portal kept outside its database: in
the queue's SQLite file (table `entries`) or, in Redis mode, in Redis
(`portal:ledger:*`). At start-up they move into the ledger once, so an
upgrade loses none of them."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from portal.delivery.ledger import Entry, Ledger

log = logging.getLogger(__name__)

REDIS_PREFIX = "portal:ledger:"


def adopt_earlier_entries(ledger: Ledger, queue_file: Path, redis_url: str) -> list[Entry]:
    """Move what an earlier version kept into `ledger`; the entries moved."""
    with ledger.database.turn("earlier-ledger"):
        moved = _from_sqlite(ledger, queue_file)
        if redis_url:
            moved += _from_redis(ledger, redis_url)
    if moved:
        log.info("Moved %d pending change(s) into the portal's database", len(moved))
    return moved


def _from_sqlite(ledger: Ledger, path: Path) -> list[Entry]:
    if not path.exists():
        return []
    db = sqlite3.connect(path, timeout=15, isolation_level=None)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                          "AND name = 'entries'").fetchone():
            return []
        entries = [Entry.from_json(row[0]) for row in
                   db.execute("SELECT body FROM entries ORDER BY created")]
        ledger.add(entries)
        db.execute("DROP TABLE entries")
    finally:
        db.close()
    return entries


def _from_redis(ledger: Ledger, url: str) -> list[Entry]:
    import redis

    try:
        client: Any = redis.Redis.from_url(url)
        ids = client.zrange(REDIS_PREFIX + "all", 0, -1)
        if not ids:
            return []
        bodies = client.mget([f"{REDIS_PREFIX}entry:{i.decode()}" for i in ids])
        entries = [Entry.from_json(body) for body in bodies if body]
        ledger.add(entries)
        client.delete(*client.keys(REDIS_PREFIX + "*"))
    except redis.RedisError as exc:
        log.warning("Could not look in Redis for changes an earlier version kept there: %s", exc)
        return []
    return entries
