"""Layout versions, drafts and the record of staff actions, in the portal's
database. Publishing is one exclusive transaction: two publishers cannot
both become version N+1, and one who started from an older version is told
so rather than silently overwriting the other's work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from portal.db.engine import Database
from portal.db.models import utcnow
from portal.staff.document import Document, dumps, loads
from portal.staff.models import LayoutDraft, LayoutVersion, StaffAction

LOCK = "layout versions"


class Conflict(Exception):
    """Someone published since the draft started: `newest` is their version."""

    def __init__(self, newest: int) -> None:
        super().__init__(f"version {newest} was published meanwhile")
        self.newest = newest


@dataclass(frozen=True)
class Version:
    id: int
    document: Document
    note: str
    published_by: str
    published_at: datetime
    restores: int | None


@dataclass(frozen=True)
class Draft:
    owner: str
    base_version: int
    document: Document
    updated_at: datetime


@dataclass(frozen=True)
class Action:
    at: datetime
    who: str
    action: str
    detail: str


class LayoutStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    # --- versions -----------------------------------------------------------------

    def newest_id(self) -> int | None:
        with self.database.transaction() as db:
            newest: int | None = db.execute(select(func.max(LayoutVersion.id))).scalar_one()
        return newest

    def version(self, version_id: int) -> Version | None:
        with self.database.transaction() as db:
            row = db.execute(select(LayoutVersion).where(LayoutVersion.id == version_id)).one_or_none()
        return _version(row) if row else None

    def versions(self) -> list[Version]:
        """Every version, newest first."""
        with self.database.transaction() as db:
            rows = db.execute(select(LayoutVersion).order_by(LayoutVersion.id.desc())).all()
        return [_version(row) for row in rows]

    def seed(self, document: Document) -> int | None:
        """Make `document` version 1 when there is no version yet (the
        configuration file's layout, on first start); returns the id it made."""
        with self.database.exclusive(LOCK) as db:
            if db.execute(select(func.count()).select_from(LayoutVersion)).scalar_one():
                return None
            db.execute(insert(LayoutVersion).values(
                id=1, document=dumps(document), note="", published_by="", published_at=utcnow(),
                restores=None))
        return 1

    def publish(self, document: Document, note: str, by: str, base_version: int | None,
                restores: int | None = None) -> int:
        """Make `document` the newest version; Conflict if `base_version`
        (None: publish whatever is newest) is no longer the newest."""
        with self.database.exclusive(LOCK) as db:
            newest = db.execute(select(func.max(LayoutVersion.id))).scalar_one() or 0
            if base_version is not None and base_version != newest:
                raise Conflict(newest)
            db.execute(insert(LayoutVersion).values(
                id=newest + 1, document=dumps(document), note=note, published_by=by,
                published_at=utcnow(), restores=restores))
            db.execute(insert(StaffAction).values(
                at=utcnow(), who=by, action="restore" if restores else "publish",
                detail=f"version {newest + 1}" + (f" = version {restores}" if restores else "")
                + (f": {note}" if note else "")))
        return int(newest + 1)

    # --- drafts ---------------------------------------------------------------------

    def draft(self, owner: str) -> Draft | None:
        with self.database.transaction() as db:
            row = db.execute(select(LayoutDraft).where(LayoutDraft.owner == owner)).one_or_none()
        if row is None:
            return None
        return Draft(row.owner, row.base_version, loads(row.document), row.updated_at)

    def save_draft(self, owner: str, base_version: int, document: Document) -> None:
        values: dict[str, Any] = {"base_version": base_version, "document": dumps(document),
                                  "updated_at": utcnow()}
        with self.database.transaction() as db:
            changed = db.execute(update(LayoutDraft).where(LayoutDraft.owner == owner)
                                 .values(**values)).rowcount
            if not changed:
                db.execute(insert(LayoutDraft).values(owner=owner, **values))

    def discard_draft(self, owner: str) -> None:
        with self.database.transaction() as db:
            db.execute(delete(LayoutDraft).where(LayoutDraft.owner == owner))

    # --- what staff did -----------------------------------------------------------------

    def record(self, who: str, action: str, detail: str = "") -> None:
        with self.database.transaction() as db:
            db.execute(insert(StaffAction).values(at=utcnow(), who=who, action=action,
                                                  detail=detail[:2000]))

    def actions(self, limit: int = 200) -> list[Action]:
        with self.database.transaction() as db:
            rows = db.execute(select(StaffAction.at, StaffAction.who, StaffAction.action,
                                     StaffAction.detail)
                              .order_by(StaffAction.id.desc()).limit(limit)).all()
        return [Action(*row) for row in rows]


def _version(row: Any) -> Version:
    """A row of `select(LayoutVersion)` (its columns, by name)."""
    return Version(row.id, loads(row.document), row.note, row.published_by, row.published_at,
                   row.restores)
