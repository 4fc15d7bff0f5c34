"""Emailed sign-in links: signed, time-limited, single use, and only the
newest one per email is valid.

The token carries the email and a nonce; the nonce is kept in a small SQLite
table so that using a link is atomic (two presses, one session) and asking
for a new link invalidates the older ones."""

from __future__ import annotations

import secrets
import sqlite3
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "portal.sign-in-link"


class LinkState(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"  # tampered or not ours
    USED = "used"  # used already, or replaced by a newer link


@dataclass(frozen=True)
class LinkCheck:
    state: LinkState
    email: str = ""
    nonce: str = ""


class SignInLinks:
    def __init__(self, secret_key: str, db_path: Path, lifetime_seconds: int) -> None:
        self.serializer = URLSafeTimedSerializer(secret_key, salt=SALT)
        self.db_path = db_path
        self.lifetime = lifetime_seconds
        with self._db() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS sign_in_links ("
                " email TEXT PRIMARY KEY COLLATE NOCASE, nonce TEXT NOT NULL,"
                " issued REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0)"
            )

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.db_path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def issue(self, email: str) -> str:
        """A new token for `email`; older ones stop working."""
        nonce = secrets.token_urlsafe(16)
        with self._db() as db:
            db.execute(
                "INSERT INTO sign_in_links (email, nonce, issued, used) VALUES (?, ?, ?, 0) "
                "ON CONFLICT (email) DO UPDATE SET nonce = excluded.nonce, "
                "issued = excluded.issued, used = 0",
                (email, nonce, time.time()),
            )
        return self.serializer.dumps({"e": email, "n": nonce})

    def check(self, token: str) -> LinkCheck:
        try:
            payload = self.serializer.loads(token, max_age=self.lifetime)
        except SignatureExpired:
            return LinkCheck(LinkState.EXPIRED)
        except BadSignature:
            return LinkCheck(LinkState.INVALID)
        if not isinstance(payload, dict) or not {"e", "n"} <= payload.keys():
            return LinkCheck(LinkState.INVALID)
        email, nonce = str(payload["e"]), str(payload["n"])
        with self._db() as db:
            row = db.execute("SELECT 1 FROM sign_in_links WHERE email = ? AND nonce = ? "
                             "AND used = 0", (email, nonce)).fetchone()
        return LinkCheck(LinkState.VALID if row else LinkState.USED, email, nonce)

    def use(self, token: str) -> LinkCheck:
        """Check and spend the link in one step; only one caller can win."""
        checked = self.check(token)
        if checked.state is not LinkState.VALID:
            return checked
        with self._db() as db:
            spent = db.execute(
                "UPDATE sign_in_links SET used = 1 WHERE email = ? AND nonce = ? AND used = 0",
                (checked.email, checked.nonce),
            ).rowcount
        return checked if spent == 1 else LinkCheck(LinkState.USED, checked.email)
