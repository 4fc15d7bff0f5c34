"""Bring the database to the newest schema with Alembic, from code: at
start-up and by `flask db upgrade`.

Several web workers start at once and each one migrates: they take turns.
On PostgreSQL the turn is an advisory lock (held by the connection that
migrates, freed if its worker dies); on SQLite it is an exclusive lock on a
file beside the database. Whoever comes second finds the work done."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from portal.db.engine import Database, lock_key

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LOCK_NAME = "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision the code knows: each part's tables may have a branch
    of their own from the first revision, so the heads, joined by "+"."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert heads, "portal/db/migrations/versions has no revision"
    return "+".join(sorted(heads))


def current(database: Database) -> str | None:
    """The revision the database is at, as `head()` writes it (None before the
    first migration)."""
    with database.engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return "+".join(sorted(heads)) if heads else None


def upgrade(database: Database) -> str:
    """Migrate to the newest revision, taking turns with other workers;
    returns that revision."""
    newest = head()
    if current(database) == newest:
        return newest
    with turn(database) as connection:
        command.upgrade(alembic_config(connection), "heads")
        connection.commit()
    return newest


def new_revision(database: Database, message: str) -> str:
    """Write a migration for what the models have and the database lacks
    (for developers, on a database at the newest revision)."""
    number = len(list(ScriptDirectory.from_config(alembic_config()).walk_revisions())) + 1
    with database.engine.connect() as connection:
        script = command.revision(alembic_config(connection), message, autogenerate=True,
                                  rev_id=f"{number:04d}")  # 0002, 0003...: the order reads
    assert script is not None and not isinstance(script, list)
    return str(script.path)


@contextmanager
def turn(database: Database) -> Iterator[Connection]:
    """The connection to migrate with, once no other worker is migrating."""
    if database.dialect == "postgresql":
        with database.engine.connect() as connection:
            key = {"key": lock_key(LOCK_NAME)}
            connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
            connection.commit()  # a session-level lock outlives this transaction
            try:
                yield connection
            finally:
                connection.rollback()
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
                connection.commit()
        return
    database_file = database.url.database
    if not database_file or database_file == ":memory:":
        with database.engine.connect() as connection:
            yield connection
        return
    with open(Path(database_file).with_name(Path(database_file).name + ".migrating"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # freed when the file closes, or its process dies
        try:
            with database.engine.connect() as connection:
                yield connection
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
