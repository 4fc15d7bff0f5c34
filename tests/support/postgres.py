"""A real PostgreSQL 15 (Debian's package) on a loopback port, started once
per test session in a folder of its own; each test gets a fresh database.

PostgreSQL refuses to run as root and the tests may run as root: the data
folder then belongs to `postgres` and its programs run through runuser."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.smtp import free_port

BIN = Path("/usr/lib/postgresql/15/bin")
USER = "portal"


class PostgresServer:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self._names = itertools.count(1)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=USER, dbname="postgres",
                             autocommit=True) as db:
            db.execute(sql)

    def create_database(self) -> str:
        name = f"test_{os.getpid()}_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        # FORCE ends the connections the test's apps still hold in their pools.
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _as_postgres(*command: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


def start_postgres(durable: bool = False) -> PostgresServer:
    """A cluster of its own; `durable` keeps PostgreSQL's default fsync and
    commit settings (the benchmark), else durability is off for speed."""
    if not (BIN / "initdb").exists():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL 15 is missing: run scripts/system-deps.sh (Debian: postgresql)")
        pytest.skip("PostgreSQL 15 is not installed (apt-get install postgresql)")
    # Not under pytest's own temp folder: it is private to root, and the
    # server's user must reach its data folder.
    folder = Path(tempfile.mkdtemp(prefix="portal-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    subprocess.run(_as_postgres(str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", USER,
                                "--no-sync"),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    port = free_port()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=300"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run(_as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-o", options,
                                "-l", str(folder / "log"), "-w", "start"),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return PostgresServer(folder, port)


def stop_postgres(server: PostgresServer) -> None:
    subprocess.run(_as_postgres(str(BIN / "pg_ctl"), "-D", str(server.folder / "data"),
                                "-m", "immediate", "-w", "stop"),
                   check=False, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = start_postgres()
    yield server
    stop_postgres(server)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty database for this test."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)
