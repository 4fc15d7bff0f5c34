"""Assertion ids (JWT `jti`) already used, kept until their assertion expires,
so that each assertion signs someone in once.

A SQLite file under the instance folder, shared by every worker process on
one machine."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path


class UsedAssertions:
    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        with closing(self._db()) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS used_assertions ("
                       " jti TEXT PRIMARY KEY, until REAL NOT NULL)")

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.db_path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def remember(self, jti: str, until: float) -> bool:
        """Note `jti` as used until `until` (a Unix time); False if it was used already."""
        with closing(self._db()) as db, db:
            db.execute("DELETE FROM used_assertions WHERE until < ?", (time.time(),))
            added = db.execute("INSERT INTO used_assertions (jti, until) VALUES (?, ?) "
                               "ON CONFLICT (jti) DO NOTHING", (jti, until)).rowcount
        return added == 1
