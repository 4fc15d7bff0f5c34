"""Many threads of one web worker saving at once into SQLite, as in a spike
of visitors: none of them is turned away with "database is locked"."""

from __future__ import annotations

import threading
import time

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
