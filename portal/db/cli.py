"""`flask db upgrade` (and `flask db revision` for developers)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.db import database
from portal.db.migrate import current, new_revision, upgrade

db_commands = AppGroup("db", help="The portal's own database.")


@db_commands.command("upgrade")
def upgrade_command() -> None:
    """Migrate the database to the newest schema (the app also does it on start)."""
    db = database()
    before = current(db)
    after = upgrade(db)
    click.echo(f"{db.safe_url}: " + (f"at revision {after}" if before == after
                                     else f"migrated from {before or 'empty'} to {after}"))


@db_commands.command("revision")
@click.argument("message")
def revision_command(message: str) -> None:
    """Write a migration for what portal/db/models.py has and the database lacks."""
    click.echo(new_revision(database(), message))
