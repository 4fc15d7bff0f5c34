"""Emailed sign-in links: opaque, time-limited, single use, and only the
newest one per email is valid.

The token is a random id that says nothing. The database keeps its hash, a
keyed hash of the email (to find the address's newest link) and the email
itself sealed with a key made from the token and the app's secret: only
the holder of the link can have it read, so the table alone gives away no
address, nor does the table together with the secret key. The contact is
looked up in the CRM when the link is used (the CRM is asked nothing when
the link is requested, so the answer cannot tell whether an address is known).

Rows stay a day past their expiry, so that an old link is told apart from
an unknown one, and are then purged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from sqlalchemy import Connection, delete, exists, insert, select, update
from sqlalchemy.orm import aliased

from portal.db.engine import Database
from portal.db.keys import Keys, new_token, seal, token_hash, unseal
from portal.db.models import SignInLink, utcnow

KEPT_AFTER_EXPIRY = timedelta(days=1)
EMAIL_KEY = "sign-in link email"


class LinkState(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"  # tampered or not ours
    USED = "used"  # used already, or replaced by a newer link


@dataclass(frozen=True)
class LinkCheck:
    state: LinkState
    email: str = ""  # only when the link has just been used


def email_fingerprint(keys: Keys, email: str) -> str:
    """The keyed hash that stands for an address wherever the portal counts or matches it."""
    return keys.fingerprint("email", email.strip().lower())


_newer = aliased(SignInLink)
# A newer link for the same address replaces this one.
REPLACED = exists().where(_newer.email_hash == SignInLink.email_hash, _newer.id > SignInLink.id)


class SignInLinks:
    """`purpose` keeps kinds of links apart (contacts' "", the workspace's
    "staff"): a link of one kind is unknown to the others, and each address
    has a newest link of each kind."""

    def __init__(self, secret_key: str, database: Database, lifetime_seconds: int,
                 purpose: str = "") -> None:
        self.keys = Keys(secret_key)
        self.database = database
        self.lifetime = lifetime_seconds
        self.purpose = purpose

    def _hash(self, token: str) -> str:
        return token_hash(f"{self.purpose}:{token}" if self.purpose else token)

    def _email_hash(self, email: str) -> str:
        if not self.purpose:
            return email_fingerprint(self.keys, email)
        return self.keys.fingerprint(f"{self.purpose} email", email.strip().lower())

    def issue(self, email: str) -> str:
        """A new token for `email`; older ones stop working."""
        token, now = new_token(), utcnow()
        email_hash = self._email_hash(email)
        with self.database.transaction() as db:
            new_id = db.execute(insert(SignInLink).values(
                token_hash=self._hash(token), email_hash=email_hash,
                sealed_email=seal(self.keys.derive(EMAIL_KEY, token), email.encode()),
                issued_at=now, expires_at=now + timedelta(seconds=self.lifetime),
            ).returning(SignInLink.id)).scalar_one()
            # The links this one replaces will never be read again.
            db.execute(update(SignInLink).where(SignInLink.email_hash == email_hash,
                                                SignInLink.id < new_id)
                       .values(sealed_email=None))
            self._purge(db)
        return token

    def check(self, token: str) -> LinkCheck:
        with self.database.transaction() as db:
            return LinkCheck(self._state(db, token))

    def use(self, token: str) -> LinkCheck:
        """Check and spend the link in one step; only one caller can win."""
        now = utcnow()
        with self.database.transaction() as db:
            sealed = db.execute(
                update(SignInLink)
                .where(SignInLink.token_hash == self._hash(token), SignInLink.used_at.is_(None),
                       SignInLink.expires_at > now, ~REPLACED)
                .values(used_at=now)
                .returning(SignInLink.sealed_email)
            ).scalar_one_or_none()
            if sealed is None:
                return LinkCheck(self._state(db, token))
            db.execute(update(SignInLink).where(SignInLink.token_hash == self._hash(token))
                       .values(sealed_email=None))
        email = unseal(self.keys.derive(EMAIL_KEY, token), sealed)
        if email is None:  # sealed under another secret key
            return LinkCheck(LinkState.INVALID)
        return LinkCheck(LinkState.VALID, email.decode())

    def _state(self, db: Connection, token: str) -> LinkState:
        row = db.execute(select(SignInLink.expires_at, SignInLink.used_at, REPLACED)
                         .where(SignInLink.token_hash == self._hash(token))).one_or_none()
        if row is None:
            return LinkState.INVALID
        expires_at, used_at, replaced = row
        if expires_at <= utcnow():
            return LinkState.EXPIRED
        return LinkState.USED if used_at is not None or replaced else LinkState.VALID

    def _purge(self, db: Connection) -> None:
        now = utcnow()
        db.execute(update(SignInLink).where(SignInLink.expires_at <= now,
                                            SignInLink.sealed_email.is_not(None))
                   .values(sealed_email=None))
        db.execute(delete(SignInLink).where(SignInLink.expires_at <= now - KEPT_AFTER_EXPIRY))
