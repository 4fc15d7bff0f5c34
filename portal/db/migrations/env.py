"""Alembic's entry point: portal.db.migrate hands over an open connection,
so no alembic.ini and no URL are needed here."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

import portal.rights.models  # noqa: F401 (its tables join Base.metadata)
from portal.db import shared_models  # noqa: F401 (its tables are part of the schema)
from portal.db.models import Base, UtcDateTime

PACKAGE = Path(__file__).resolve().parents[2]
# Parts above the database keep their tables in <part>/models.py: found by
# name, so that this layer imports none of them.
for models in sorted(PACKAGE.glob("*/models.py")):
    import_module(f"portal.{models.parent.name}.models")


def render_item(kind: str, item: Any, autogen: AutogenContext) -> str | Literal[False]:
    """New migrations name plain SQLAlchemy types, never the portal's own
    classes, so that old migrations keep working when those change."""
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying
                  compare_type=True, render_item=render_item)
with context.begin_transaction():
    context.run_migrations()
