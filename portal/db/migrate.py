"""Bring the database to the newest schema with Alembic, from code: at
start-up and by `flask db upgrade`.

Several web workers start at once and each one migrates: they take turns.
The turn is `Database.turn` (an advisory lock on PostgreSQL, a file lock
beside the SQLite file). Whoever comes second finds the work done."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from portal.db.engine import Database

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


def turn(database: Database) -> AbstractContextManager[Connection]:
    """The connection to migrate with, once no other worker is migrating."""
    return database.turn(LOCK_NAME)
