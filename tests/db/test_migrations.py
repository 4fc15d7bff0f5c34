"""The schema comes from the migrations shipped in the package, applied at
start-up (by every worker at once, safely) and by `flask db upgrade`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from portal.db import database
from portal.db.engine import Database, normalised_url
from portal.db.migrate import alembic_config, current, head, turn, upgrade
from portal.db.models import Base
from portal.shipped import SOURCE_TREE as ROOT


def schema_differences(db: Database) -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_the_migrations_build_exactly_the_models(db_app):
    db = database(db_app)
    assert current(db) == head()
    assert schema_differences(db) == []
    tables = set(inspect(db.engine).get_table_names())
    assert {"sign_in_links", "sessions", "sign_in_requests", "alembic_version"} <= tables


def test_every_migration_can_be_undone_and_done_again(db_app):
    db = database(db_app)
    with turn(db) as connection:
        command.downgrade(alembic_config(connection), "base")
        connection.commit()
    assert current(db) is None
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    assert upgrade(db) == head()
    assert schema_differences(db) == []


def test_flask_db_upgrade_says_where_the_database_is(db_app):
    result = db_app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"at revision {head()}" in result.output


def test_the_password_in_the_url_is_never_printed(postgres_url, make_app, monkeypatch):
    monkeypatch.setenv("PORTAL_DATABASE_URL", postgres_url.replace("portal@", "portal:s3cret-pw@"))
    result = make_app().test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "s3cret-pw" not in result.output and "***" in result.output


UPGRADE = ("import sys, time; from portal.db.engine import Database; "
           "from portal.db.migrate import upgrade; db = Database(sys.argv[1]); "
           "time.sleep(max(0, float(sys.argv[2]) - time.time())); upgrade(db)")


def start_worker(url: str, start_at: float = 0.0) -> subprocess.Popen:
    """A process that migrates the database at `start_at`, as a gunicorn worker on start-up."""
    return subprocess.Popen([sys.executable, "-c", UPGRADE, url, str(start_at)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def empty_database(tmp_path: Path) -> str:
    return os.environ.get("PORTAL_DATABASE_URL") or f"sqlite:///{tmp_path / 'portal.sqlite3'}"


def test_a_worker_waits_while_another_migrates(backend, tmp_path):
    url = empty_database(tmp_path)
    db = Database(url)
    with turn(db):  # another worker is migrating
        worker = start_worker(url)
        time.sleep(2.0)
        assert worker.poll() is None, worker.communicate()[0].decode()
        assert current(db) is None
    assert worker.wait(30) == 0, worker.communicate()[0].decode()
    assert current(db) == head()
    db.dispose()


def test_workers_starting_together_all_start_on_a_whole_schema(backend, tmp_path):
    url = empty_database(tmp_path)
    start_at = time.time() + 1.5  # all of them past their imports by then
    workers = [start_worker(url, start_at) for _ in range(4)]
    outputs = [worker.communicate(timeout=60)[0].decode() for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * 4, outputs
    db = Database(url)
    assert current(db) == head()
    assert schema_differences(db) == []
    db.dispose()


def test_the_url_comes_from_the_environment_then_the_file_then_the_instance(tmp_path, make_app,
                                                                          monkeypatch):
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    default = make_app()
    assert database(default).url.database == str(Path(default.instance_path) / "portal.sqlite3")
    chosen = tmp_path / "chosen.sqlite3"
    from_file = make_app(replace={'crm = "main"': f'crm = "main"\ndatabase_url = "sqlite:///{chosen}"'})
    assert database(from_file).url.database == str(chosen) and chosen.exists()
    wins = tmp_path / "wins.sqlite3"
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{wins}")
    from_env = make_app(replace={'crm = "main"': f'crm = "main"\ndatabase_url = "sqlite:///{chosen}"'})
    assert database(from_env).url.database == str(wins)


def test_a_postgresql_url_without_a_driver_uses_psycopg_3():
    for url in ("postgres://u@h/d", "postgresql://u@h/d", "postgresql+psycopg://u@h/d"):
        assert normalised_url(url).drivername == "postgresql+psycopg"
