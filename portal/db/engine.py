"""One connection pool to the portal's database, and the kinds of
transaction the portal needs: plain ones, exclusive ones that every web
worker takes in turn (counting sign-in requests), and turns held across
slow work that must not run twice at once (migrating, refreshing an OAuth
token)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL

SQLITE_BUSY_SECONDS = 30  # how long a writer waits for another worker's write
SQLITE_EXTRA_CONNECTIONS = 90


def normalised_url(url: str) -> URL:
    """The URL as SQLAlchemy wants it: PostgreSQL through psycopg 3 even when
    the URL names no driver (postgres://, postgresql://)."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1)
                      if url.startswith("postgres://") else url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


class Database:
    def __init__(self, url: str, busy_seconds: float = SQLITE_BUSY_SECONDS) -> None:
        self.url = normalised_url(url)
        self.dialect = self.url.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"The portal's database must be SQLite or PostgreSQL, not "
                             f"{self.dialect} ({self.safe_url}).")
        options: dict[str, Any] = {"pool_pre_ping": self.dialect == "postgresql"}
        if self.dialect == "sqlite":
            options["connect_args"] = {"timeout": busy_seconds}
            # A connection per busy thread (a file handle each): threads waiting
            # for their turn to write hold one, and gunicorn may run dozens.
            options.update(pool_size=10, max_overflow=SQLITE_EXTRA_CONNECTIONS)
        self.engine: Engine = create_engine(self.url, **options)
        self._writers = WriterQueue(busy_seconds, _beside(self.url.database, "writers")) \
            if self.dialect == "sqlite" else None
        if self._writers is not None:
            _take_over_sqlite_transactions(self.engine, self._writers)

    @property
    def safe_url(self) -> str:
        """The URL without its password, fit for messages and logs."""
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A transaction, committed when the block ends without an error.
        On SQLite one that reads and then writes may be refused at its first
        write ("database is locked": another connection wrote since it read):
        such a transaction is `exclusive()`, which holds the write lock from
        its first statement."""
        with self._writing_ends(), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for one read that needs no transaction of its own
        (a page's hot path). On SQLite the statement runs in SQLite's own
        implicit transaction, without a BEGIN and a COMMIT around it; it must
        not write."""
        with self.engine.connect() as connection:
            if self.dialect == "sqlite":
                connection.execution_options(sqlite_begin=None)
            yield connection

    @contextmanager
    def _writing_ends(self) -> Iterator[None]:
        """Lets the next writer of this process in once the block's
        transaction (and any it runs inside) has committed or rolled back."""
        if self._writers is None:
            yield
            return
        with self._writers.until_done():
            yield

    @contextmanager
    def exclusive(self, *names: str) -> Iterator[Connection]:
        """A transaction that no other holder of any of `names` runs at the
        same time, in this process or another: transaction-level advisory
        locks on PostgreSQL, the database's write lock on SQLite (taken from
        the first statement, also without `names`: for a read, then a write)."""
        with self._writing_ends(), self.engine.connect() as connection:
            if self.dialect == "sqlite":
                connection.execution_options(sqlite_begin="IMMEDIATE")
            with connection.begin():
                if self.dialect == "postgresql":
                    for name in sorted(set(names)):  # one order everywhere: no deadlock
                        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                           {"key": lock_key(name)})
                yield connection

    @contextmanager
    def turn(self, name: str) -> Iterator[Connection]:
        """A connection, once no other holder of the turn `name` (in any
        process, on any machine) holds it; held across slow work without
        keeping a transaction open. PostgreSQL: a session-level advisory lock,
        freed with the connection if its process dies. SQLite, which only one
        machine uses: an exclusive lock on a file beside the database."""
        if self.dialect == "postgresql":
            with self.engine.connect() as connection:
                key = {"key": lock_key(name)}
                connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
                connection.commit()  # a session-level lock outlives this transaction
                try:
                    yield connection
                finally:
                    connection.rollback()
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
                    connection.commit()
            return
        path = _beside(self.url.database, name)
        if path is None:
            with self._writing_ends(), self.engine.connect() as connection:
                yield connection
            return
        with open(path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # freed when the file closes, or its process dies
            try:
                with self._writing_ends(), self.engine.connect() as connection:
                    yield connection
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def dispose(self) -> None:
        """Close the pooled connections (before a server forks its workers)."""
        self.engine.dispose()


def _beside(database_file: str | None, name: str) -> Path | None:
    """A lock file beside a SQLite database file (None in memory)."""
    if not database_file or database_file == ":memory:":
        return None
    path = Path(database_file)
    return path.with_name(f"{path.name}.{name}.lock")


def lock_key(name: str) -> int:
    """A PostgreSQL advisory lock number (signed 64 bits) for a name."""
    return int.from_bytes(hashlib.sha256(f"portal:{name}".encode()).digest()[:8], "big",
                          signed=True)


class WriterQueue:
    """SQLite's writers, one at a time on the machine.

    SQLite has one write lock, and a connection that finds it taken polls
    with growing sleeps (up to a tenth of a second each): with dozens of
    threads writing at once, a writer can miss every turn until its busy
    timeout ends ("database is locked"), and one that gets it has often
    slept far past the moment it was free. A thread that is about to write
    queues here instead: on a lock of its process, then, as the only one
    of its process, on a file lock beside the database that the other
    processes take too. A thread keeps its turn until its transaction has
    ended (`until_done`)."""

    def __init__(self, wait_seconds: float, lock_file: Path | None = None) -> None:
        self.wait_seconds = wait_seconds
        self._lock = threading.Lock()
        self._held = threading.local()
        self._machine = _MachineLock(lock_file) if lock_file is not None else None

    def enter(self) -> None:
        if getattr(self._held, "turn", False):
            return
        # Bounded like SQLite's own wait: a thread that writes on a second
        # connection inside its first transaction is left to SQLite as before.
        self._held.turn = self._lock.acquire(timeout=self.wait_seconds)
        if self._held.turn and self._machine is not None:
            self._held.machine = self._machine.take(time.monotonic() + self.wait_seconds)

    @contextmanager
    def until_done(self) -> Iterator[None]:
        """A transaction's block: a turn taken inside is kept until the
        outermost block of the thread ends (an inner transaction that ends
        first must not let another writer wait for a lock this thread holds)."""
        depth = getattr(self._held, "depth", 0)
        self._held.depth = depth + 1
        try:
            yield
        finally:
            self._held.depth = depth
            if depth == 0 and getattr(self._held, "turn", False):
                self._held.turn = False
                if getattr(self._held, "machine", False):
                    self._held.machine = False
                    assert self._machine is not None
                    self._machine.give_back()
                self._lock.release()


class _MachineLock:
    """An exclusive lock on a file, between processes (held by one thread of
    a process at a time: the holder of the process's writer turn)."""

    POLL_SECONDS = 0.001  # far below SQLite's own sleeps; the waiter is one thread a process

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None
        self._pid = 0

    def take(self, deadline: float) -> bool:
        """Whether it was taken before `deadline` (past it, SQLite's own wait decides)."""
        descriptor = self._descriptor()
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(self.POLL_SECONDS)

    def give_back(self) -> None:
        fcntl.flock(self._descriptor(), fcntl.LOCK_UN)

    def _descriptor(self) -> int:
        # A file opened before gunicorn forked would be one lock for every
        # worker: each process opens its own.
        if self._file is None or self._pid != os.getpid():
            self._file, self._pid = open(self.path, "a"), os.getpid()
        return self._file.fileno()


READS = ("SELECT", "BEGIN", "PRAGMA")


def _writes(statement: str) -> bool:
    words = statement.split(None, 2)
    return bool(words) and (words[0].upper() not in READS
                            or [w.upper() for w in words[:2]] == ["BEGIN", "IMMEDIATE"])


def _take_over_sqlite_transactions(engine: Engine, writers: WriterQueue) -> None:
    """Python's sqlite3 begins transactions itself, late and always DEFERRED;
    SQLAlchemy's documented recipe lets us say BEGIN, and BEGIN IMMEDIATE
    where a transaction must hold the write lock from its first statement.
    A statement that writes (or BEGIN IMMEDIATE) first takes its thread's
    place among the process's writers."""

    @event.listens_for(engine, "before_cursor_execute")
    def before_statement(connection: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if _writes(statement):
            if connection.get_execution_options().get("sqlite_begin", "") is None:
                # Its turn would never end: `reading()` has no block that ends it.
                raise RuntimeError("Database.reading() is for reads; write in transaction().")
            writers.enter()

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "")
        if mode is not None:  # None: `Database.reading()`, no transaction of our own
            connection.exec_driver_sql(f"BEGIN {mode}".strip())


class Every:
    """Says yes at most once per `seconds`, per process: for housekeeping
    that rides on ordinary requests."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._next = 0.0
        self._lock = threading.Lock()

    def due(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now < self._next:
                return False
            self._next = now + self.seconds
            return True
