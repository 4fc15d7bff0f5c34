"""Alembic's entry point: portal.db.migrate hands over an open connection,
so no alembic.ini and no URL are needed here."""

from __future__ import annotations

from alembic import context

from portal.db.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
