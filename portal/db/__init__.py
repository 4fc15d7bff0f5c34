"""The portal's own database (SQLAlchemy + Alembic): sign-in links,
sessions and sign-in request counters.

```toml
[portal]
database_url = "postgresql://portal@db.example.org/portal"  # when several machines serve
```

PORTAL_DATABASE_URL wins over the file (it may carry a password). Without
either, a SQLite file `portal.sqlite3` in the instance folder: nothing to
install. PostgreSQL needs the `postgresql` extra (psycopg 3)."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, current_app

from portal.db.engine import Database
from portal.db.migrate import upgrade

URL_ENV = "PORTAL_DATABASE_URL"
DEFAULT_FILE = "portal.sqlite3"


def database_url(configured: str, instance: Path) -> str:
    return os.environ.get(URL_ENV) or configured or f"sqlite:///{instance / DEFAULT_FILE}"


def init_app(app: Flask) -> None:
    """Open the database and migrate it to the newest schema."""
    database = Database(database_url(app.config["PORTAL"].portal.database_url,
                                     Path(app.instance_path)))
    upgrade(database)
    database.dispose()  # no connection of the start-up survives into forked workers
    app.extensions["portal_db"] = database


def database(app: Flask | None = None) -> Database:
    db: Database = (app or current_app).extensions["portal_db"]
    return db
