"""Many threads of one web worker saving at once into SQLite, as in a spike
of visitors: none of them is turned away with "database is locked"."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import text

from portal.db.engine import Database

THREADS = 24
SAVES = 15
HELD = 0.01  # seconds each save keeps its transaction open (a busy process)


def test_a_crowd_of_writers_all_get_their_turn(tmp_path):
    # A short busy timeout stands in for a long spike: 360 saves of 10 ms
    # queue for far longer than one second altogether.
    database = Database(f"sqlite:///{tmp_path / 'portal.sqlite3'}", busy_seconds=1.0)
    with database.transaction() as db:
        db.execute(text("CREATE TABLE saves (thread INTEGER, n INTEGER)"))
    refused: list[str] = []

    def visitor(number: int) -> None:
        for n in range(SAVES):
            try:
                with database.transaction() as db:
                    db.execute(text("INSERT INTO saves VALUES (:t, :n)"), {"t": number, "n": n})
                    time.sleep(HELD)
            except Exception as exc:  # what a visitor would see as an error page
                refused.append(str(exc).splitlines()[0])

    threads = [threading.Thread(target=visitor, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with database.transaction() as db:
        kept = db.execute(text("SELECT count(*) FROM saves")).scalar()
    assert refused == []
    assert kept == THREADS * SAVES
    database.dispose()


def test_a_writer_keeps_its_turn_through_a_transaction_it_runs_inside(tmp_path):
    # One thread writes, reads on another connection in between (an inner
    # transaction that ends first), then writes again; another thread wants
    # to write meanwhile. Both saves are kept: neither waits on the other.
    database = Database(f"sqlite:///{tmp_path / 'portal.sqlite3'}", busy_seconds=1.0)
    with database.transaction() as db:
        db.execute(text("CREATE TABLE saves (who TEXT)"))
    other_wants_to_write = threading.Event()
    refused: list[str] = []

    def other() -> None:
        other_wants_to_write.wait(5)
        try:
            with database.transaction() as db:
                db.execute(text("INSERT INTO saves VALUES ('other')"))
        except Exception as exc:  # what a visitor would see as an error page
            refused.append(str(exc).splitlines()[0])

    neighbour = threading.Thread(target=other)
    neighbour.start()
    with database.transaction() as outer:
        outer.execute(text("INSERT INTO saves VALUES ('first')"))
        with database.transaction() as inner:
            inner.execute(text("SELECT count(*) FROM saves")).scalar()
        other_wants_to_write.set()
        time.sleep(0.3)  # the other thread is waiting for its turn now
        outer.execute(text("INSERT INTO saves VALUES ('second')"))
    neighbour.join(10)
    with database.transaction() as db:
        kept = sorted(db.execute(text("SELECT who FROM saves")).scalars())
    assert refused == []
    assert kept == ["first", "other", "second"]
    database.dispose()


def test_writers_of_two_processes_queue_for_each_other(tmp_path):
    # Another worker process holds a write for 0.3 s. SQLite alone would
    # give this one 0.2 s and then "database is locked"; queued on the
    # machine's turn first, it writes once the other is done.
    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    database = Database(url, busy_seconds=0.2)
    with database.transaction() as db:
        db.execute(text("CREATE TABLE saves (who TEXT)"))
    other = subprocess.Popen([sys.executable, "-c", OTHER_WORKER, url], stdout=subprocess.PIPE,
                             text=True)
    assert other.stdout is not None and other.stdout.readline().strip() == "writing"
    with database.transaction() as db:
        db.execute(text("INSERT INTO saves VALUES ('this')"))
    assert other.wait(10) == 0
    with database.transaction() as db:
        kept = sorted(db.execute(text("SELECT who FROM saves")).scalars())
    assert kept == ["other", "this"]
    database.dispose()


OTHER_WORKER = """
import sys, time
from sqlalchemy import text
from portal.db.engine import Database
database = Database(sys.argv[1], busy_seconds=5)
with database.transaction() as db:
    db.execute(text("INSERT INTO saves VALUES ('other')"))
    print("writing", flush=True)
    time.sleep(0.3)
"""


def test_a_read_only_connection_refuses_to_write(tmp_path):
    # A write there would take the writers' turn with no transaction to end
    # it, and every later writer of the process would wait for it in vain.
    database = Database(f"sqlite:///{tmp_path / 'portal.sqlite3'}", busy_seconds=1.0)
    with database.transaction() as db:
        db.execute(text("CREATE TABLE saves (who TEXT)"))
    with pytest.raises(RuntimeError), database.reading() as db:
        db.execute(text("INSERT INTO saves VALUES ('stray')"))
    with database.transaction() as db:  # the next writer gets its turn at once
        db.execute(text("INSERT INTO saves VALUES ('next')"))
        kept = db.execute(text("SELECT who FROM saves")).scalars().all()
    assert kept == ["next"]
    database.dispose()
