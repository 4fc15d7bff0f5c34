"""Session records: one row per browser session, found by the hash of the
random id its cookie holds. The dict Flask keeps (a language, a form's CSRF
token, the signed-in contact) is sealed with a key made from the secret key
and that id; door, contact reference, scope and language also have columns
of their own, so that a contact's sessions can be found and ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask.sessions import session_json_serializer
from sqlalchemy import and_, bindparam, delete, insert, select, update

from portal.db.engine import Database
from portal.db.keys import Keys, seal, unseal
from portal.db.models import SessionRecord

# An ended signed-in session keeps an empty record this long, so that its
# contact is told the session ended rather than shown a plain start page.
ENDED_NOTICE = timedelta(days=1)
DATA_KEY = "session data"
# Built once, values given as parameters: every request reads its session,
# and many write it (building a statement with its values costs more than running it).
_LOAD = select(SessionRecord.created_at, SessionRecord.last_seen_at, SessionRecord.contact_ref,
               SessionRecord.language, SessionRecord.sealed_data,
               ).where(SessionRecord.id_hash == bindparam("id_hash"))
_UPDATE = update(SessionRecord).where(SessionRecord.id_hash == bindparam("b_id_hash"))


@dataclass(frozen=True)
class StoredSession:
    id_hash: str
    created_at: datetime
    last_seen_at: datetime
    contact_ref: str | None
    language: str | None
    data: dict[str, Any] | None  # None when it cannot be read (ended, or another secret key)


@dataclass(frozen=True)
class Columns:
    """What the record shows of the session, beside its sealed data."""

    door: str | None = None
    contact_ref: str | None = None
    scope: str | None = None
    language: str | None = None


class SessionStore:
    def __init__(self, database: Database, keys: Keys) -> None:
        self.database = database
        self.keys = keys

    def load(self, id_hash: str) -> StoredSession | None:
        with self.database.reading() as db:
            row = db.execute(_LOAD, {"id_hash": id_hash}).one_or_none()
        if row is None:
            return None
        created_at, last_seen_at, contact_ref, language, sealed = row
        raw = unseal(self._key(id_hash), sealed) if sealed else None
        data = session_json_serializer.loads(raw.decode()) if raw else None
        return StoredSession(id_hash, created_at, last_seen_at, contact_ref, language, data)

    def save(self, id_hash: str, data: dict[str, Any], columns: Columns, created_at: datetime,
             seen_at: datetime, expires_at: datetime, new: bool,
             replacing: str | None = None) -> None:
        """Keep a session's record; a new one may take the place of `replacing`
        (a session renewed under a new id), in the same transaction."""
        values = {"last_seen_at": seen_at, "expires_at": expires_at, "door": columns.door,
                  "contact_ref": columns.contact_ref, "scope": columns.scope,
                  "language": columns.language,
                  "sealed_data": seal(self._key(id_hash),
                                      session_json_serializer.dumps(data).encode())}
        with self.database.transaction() as db:
            if replacing is not None:
                db.execute(delete(SessionRecord).where(SessionRecord.id_hash == replacing))
            if new:
                db.execute(insert(SessionRecord),
                           {"id_hash": id_hash, "created_at": created_at, **values})
            else:
                db.execute(_UPDATE, {"b_id_hash": id_hash, **values})

    def touch(self, id_hash: str, seen_at: datetime, expires_at: datetime) -> None:
        with self.database.transaction() as db:
            db.execute(_UPDATE, {"b_id_hash": id_hash, "last_seen_at": seen_at,
                                 "expires_at": expires_at})

    def delete(self, id_hash: str) -> None:
        with self.database.transaction() as db:
            db.execute(delete(SessionRecord).where(SessionRecord.id_hash == id_hash))

    def end_all_of(self, contact_ref: str) -> int:
        """End every session of one contact; returns how many there were."""
        with self.database.transaction() as db:
            return db.execute(delete(SessionRecord)
                              .where(SessionRecord.contact_ref == contact_ref)).rowcount

    def purge(self, now: datetime) -> None:
        """Drop ended sessions: anonymous ones at once; signed-in ones lose
        their data at once and their record after ENDED_NOTICE."""
        ended = SessionRecord.expires_at <= now
        with self.database.transaction() as db:
            db.execute(delete(SessionRecord).where(
                ended & (SessionRecord.contact_ref.is_(None)
                         | (SessionRecord.expires_at <= now - ENDED_NOTICE))))
            db.execute(update(SessionRecord)
                       .where(and_(ended, SessionRecord.sealed_data.is_not(None)))
                       .values(sealed_data=None, door=None, scope=None))

    def _key(self, id_hash: str) -> bytes:
        # One key per session: a record's data cannot be moved under another id.
        return self.keys.derive(DATA_KEY, id_hash)
