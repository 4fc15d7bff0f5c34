"""The embedded CRM on SQLite: the default, the demo and the test double.

It keeps what a real CRM keeps for the portal's purposes: contacts, a field
catalogue with values, lists with memberships, tags, notes and a log of the
automations the portal started. A change that asks to forget the contact
(`Change.erase`) deletes them and everything kept about them. Options:

    [crm.main]
    type = "local"
    path = "instance/crm.sqlite3"   # relative paths are under the instance folder
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from portal.crm.base import (
    Catalog,
    Change,
    Contact,
    CrmAdapter,
    CrmFieldInfo,
    CrmItemInfo,
    CrmNotFound,
    CrmUnavailable,
    CrmValidationError,
    FieldRef,
    FieldUpdate,
    ItemRef,
    Profile,
    Value,
)
from portal.crm.planning import items_in, items_of, tag_plan

SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL DEFAULT '',
    opted_out_all INTEGER NOT NULL DEFAULT 0,
    modified TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_email ON contacts(email);
CREATE TABLE IF NOT EXISTS fields (
    key TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    type TEXT NOT NULL,
    choices TEXT NOT NULL DEFAULT '[]',
    read_only INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS field_values (
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    field TEXT NOT NULL REFERENCES fields(key),
    value TEXT NOT NULL,
    PRIMARY KEY (contact_id, field)
);
CREATE TABLE IF NOT EXISTS lists (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS memberships (
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    list_id TEXT NOT NULL REFERENCES lists(id),
    PRIMARY KEY (contact_id, list_id)
);
CREATE TABLE IF NOT EXISTS tags (
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    tag TEXT NOT NULL,
    PRIMARY KEY (contact_id, tag)
);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    change_id TEXT,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created TEXT NOT NULL,
    UNIQUE (change_id, title)
);
CREATE TABLE IF NOT EXISTS automation_runs (
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    automation TEXT NOT NULL,
    change_id TEXT NOT NULL,
    started TEXT NOT NULL,
    PRIMARY KEY (change_id, automation)
);
"""


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


class LocalCrm(CrmAdapter):
    kind = "local"
    item_kinds = frozenset({"list", "tag"})
    supports_tags = True

    def __init__(self, name: str, options: Mapping[str, Any], state_dir: Path) -> None:
        super().__init__(name, options, state_dir)
        path = Path(self.options.get("path", "crm.sqlite3"))
        self.path = path if path.is_absolute() else state_dir / path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        except sqlite3.Error as exc:
            raise CrmUnavailable(f"The embedded CRM cannot open {self.path}: {exc}",
                                 crm=self.name) from exc
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        try:
            yield db
        except sqlite3.OperationalError as exc:  # locked or disk trouble: worth a retry
            raise CrmUnavailable(f"The embedded CRM failed: {exc}", crm=self.name) from exc
        finally:
            db.close()

    # --- reading -------------------------------------------------------------

    def find_contacts(self, email: str) -> list[Contact]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM contacts WHERE email = ? ORDER BY id", (email.strip(),))
            return [_contact(row) for row in rows]

    def _row(self, db: sqlite3.Connection, ref: str) -> sqlite3.Row:
        """The contact's row, or CrmNotFound."""
        row: sqlite3.Row | None = db.execute("SELECT * FROM contacts WHERE id = ?", (ref,)).fetchone()
        if row is None:
            raise CrmNotFound(f"No contact {ref} in the embedded CRM.", crm=self.name)
        return row

    def fetch_profile(
        self, contact: Contact, fields: Sequence[FieldRef], items: Sequence[ItemRef]
    ) -> Profile:
        with self._db() as db:
            head = self._row(db, contact.ref)
            stored = {
                row["field"]: json.loads(row["value"])
                for row in db.execute("SELECT field, value FROM field_values WHERE contact_id = ?",
                                      (contact.ref,))
            }
            lists = {row[0] for row in db.execute(
                "SELECT list_id FROM memberships WHERE contact_id = ?", (contact.ref,))}
            tags = {row[0] for row in db.execute(
                "SELECT tag FROM tags WHERE contact_id = ?", (contact.ref,))}
        stored["email"] = head["email"]
        values: dict[str, Value] = {ref.crm_field: stored.get(ref.crm_field) for ref in fields}
        return Profile(contact=_contact(head), values=values,
                       subscribed=items_in(items, {"list": lists, "tag": tags}),
                       opted_out_all=bool(head["opted_out_all"]))

    def describe(self) -> Catalog:
        with self._db() as db:
            fields = tuple(
                CrmFieldInfo(
                    key=row["key"], label=row["label"], type=row["type"],
                    portal_type=row["type"],  # the embedded CRM stores the portal's own types
                    choices=tuple(tuple(c) for c in json.loads(row["choices"])),
                    custom=row["key"] not in ("email", "first_name", "last_name"),
                    read_only=bool(row["read_only"]),
                )
                for row in db.execute("SELECT * FROM fields ORDER BY key")
            )
            items = tuple(
                CrmItemInfo(ItemRef("list", row["id"]), row["name"])
                for row in db.execute("SELECT id, name FROM lists ORDER BY id")
            )
            tags = tuple(row[0] for row in db.execute("SELECT DISTINCT tag FROM tags ORDER BY tag"))
        email_field = CrmFieldInfo("email", "Email", "email", "email", read_only=False)
        return Catalog(fields=(email_field, *fields), items=items, tags=tags)

    def check_access(self) -> None:
        with self._db() as db:
            db.execute("SELECT count(*) FROM contacts").fetchone()

    # --- writing -------------------------------------------------------------

    def apply(self, change: Change) -> None:
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                self._apply(db, change)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _apply(self, db: sqlite3.Connection, change: Change) -> None:
        ref = change.contact_ref
        if change.erase and not self._exists(db, ref):
            return  # erased already: a replay of the same request
        self._row(db, ref)
        self._write_fields(db, ref, change.fields)
        self.refuse_unknown_items(change)
        self._write_lists(db, ref, change)
        add, remove = tag_plan(change)
        db.executemany("INSERT OR IGNORE INTO tags (contact_id, tag) VALUES (?, ?)",
                       [(ref, tag) for tag in add])
        db.executemany("DELETE FROM tags WHERE contact_id = ? AND tag = ?", [(ref, tag) for tag in remove])
        if change.unsubscribe_all is not None:
            db.execute("UPDATE contacts SET opted_out_all = ? WHERE id = ?",
                       (int(change.unsubscribe_all), ref))
        db.executemany("INSERT OR IGNORE INTO notes (contact_id, change_id, title, body, created) "
                       "VALUES (?, ?, ?, ?, ?)",
                       [(ref, change.id, note.title, note.body, now_iso()) for note in change.notes])
        db.executemany("INSERT OR IGNORE INTO automation_runs (contact_id, automation, change_id, "
                       "started) VALUES (?, ?, ?, ?)",
                       [(ref, automation, change.id, now_iso()) for automation in change.automations])
        db.execute("UPDATE contacts SET modified = ? WHERE id = ?", (now_iso(), ref))
        if change.erase:
            self._erase(db, ref)

    @staticmethod
    def _exists(db: sqlite3.Connection, ref: str) -> bool:
        return db.execute("SELECT 1 FROM contacts WHERE id = ?", (ref,)).fetchone() is not None

    @staticmethod
    def _erase(db: sqlite3.Connection, ref: str) -> None:
        """Delete the contact and everything kept about them, for real."""
        for table in ("field_values", "memberships", "tags", "notes", "automation_runs"):
            db.execute(f"DELETE FROM {table} WHERE contact_id = ?", (ref,))  # noqa: S608 (names above)
        db.execute("DELETE FROM contacts WHERE id = ?", (ref,))

    def _write_fields(self, db: sqlite3.Connection, ref: str, updates: Sequence[FieldUpdate]) -> None:
        known = {row[0] for row in db.execute("SELECT key FROM fields")}
        for update in updates:
            name, value = update.field.crm_field, update.value
            if name == "email" and not value:
                raise CrmValidationError("The email cannot be empty.", crm=self.name, field="email")
            if name == "email":
                db.execute("UPDATE contacts SET email = ? WHERE id = ?", (value, ref))
            elif name not in known:
                raise CrmValidationError(f"Unknown field '{name}'.", crm=self.name, field=name)
            elif value in (None, "", []):
                db.execute("DELETE FROM field_values WHERE contact_id = ? AND field = ?", (ref, name))
            else:
                db.execute("INSERT INTO field_values (contact_id, field, value) VALUES (?, ?, ?) "
                           "ON CONFLICT (contact_id, field) DO UPDATE SET value = excluded.value",
                           (ref, name, json.dumps(value, ensure_ascii=False)))

    def _write_lists(self, db: sqlite3.Connection, ref: str, change: Change) -> None:
        lists = {row[0] for row in db.execute("SELECT id FROM lists")}
        joined, left = items_of(change, "list")
        unknown = next((item.ref for item in joined if item.ref not in lists), None)
        if unknown is not None:
            raise CrmValidationError(f"Unknown list '{unknown}'.", crm=self.name)
        db.executemany("INSERT OR IGNORE INTO memberships (contact_id, list_id) VALUES (?, ?)",
                       [(ref, item.ref) for item in joined])
        db.executemany("DELETE FROM memberships WHERE contact_id = ? AND list_id = ?",
                       [(ref, item.ref) for item in left])

    def create_contact(self, email: str, name: str = "") -> Contact:
        ref = uuid.uuid4().hex[:12]
        with self._db() as db:
            db.execute("INSERT INTO contacts (id, email, name, modified) VALUES (?, ?, ?, ?)",
                       (ref, email.strip(), name, now_iso()))
            return _contact(self._row(db, ref))

    # --- set-up and inspection (demo seeding, tests, the CLI) -----------------

    def define_field(self, key: str, label: str, type: str,
                     choices: Sequence[tuple[str, str]] = (), read_only: bool = False) -> None:
        with self._db() as db:
            db.execute(
                "INSERT INTO fields (key, label, type, choices, read_only) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET label = excluded.label, type = excluded.type, "
                "choices = excluded.choices, read_only = excluded.read_only",
                (key, label, type, json.dumps([list(c) for c in choices]), int(read_only)),
            )

    def define_list(self, list_id: str, name: str) -> None:
        with self._db() as db:
            db.execute("INSERT INTO lists (id, name) VALUES (?, ?) "
                       "ON CONFLICT (id) DO UPDATE SET name = excluded.name", (list_id, name))

    def notes_of(self, ref: str) -> list[dict[str, str]]:
        with self._db() as db:
            rows = db.execute("SELECT change_id, title, body FROM notes WHERE contact_id = ? "
                              "ORDER BY id", (ref,)).fetchall()
        return [dict(row) for row in rows]

    def tags_of(self, ref: str) -> set[str]:
        with self._db() as db:
            return {row[0] for row in db.execute("SELECT tag FROM tags WHERE contact_id = ?",
                                                 (ref,))}

    def automations_of(self, ref: str) -> list[str]:
        with self._db() as db:
            return [row[0] for row in db.execute(
                "SELECT automation FROM automation_runs WHERE contact_id = ? ORDER BY started",
                (ref,))]


def _contact(row: sqlite3.Row) -> Contact:
    return Contact(ref=row["id"], email=row["email"], name=row["name"],
                   modified=datetime.fromisoformat(row["modified"]))
