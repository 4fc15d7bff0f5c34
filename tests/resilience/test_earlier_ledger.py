"""A portal upgraded from keeping its ledger in the queue's SQLite file (or
in Redis) loses none of the changes that were waiting there."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace

import redis

from portal.crm.base import Change, FieldRef, FieldUpdate
from portal.delivery import delivery
from portal.delivery.ledger import new_entry
from tests.resilience.conftest import wait_until

EARLIER_SCHEMA = """
CREATE TABLE entries (id TEXT PRIMARY KEY, crm TEXT NOT NULL, contact_ref TEXT NOT NULL,
                      created REAL NOT NULL, body TEXT NOT NULL, lease_until REAL NOT NULL DEFAULT 0);
"""


def test_changes_waiting_in_the_earlier_sqlite_ledger_are_delivered(portal_for, ac, tmp_path):
    change = Change(contact_ref=ac.contact, email="ane@example.org",
                    fields=(FieldUpdate(FieldRef("firstName", "text"), "Kept"),))
    entry = replace(new_entry("main", change, 3600), created=time.time() - 60)
    (tmp_path / "instance").mkdir()
    earlier = sqlite3.connect(tmp_path / "instance" / "queue.sqlite3")
    earlier.executescript(EARLIER_SCHEMA)
    earlier.execute("INSERT INTO entries (id, crm, contact_ref, created, body) VALUES (?,?,?,?,?)",
                    (entry.id, entry.crm, entry.contact_ref, entry.created, entry.to_json()))
    earlier.commit()
    earlier.close()

    app = portal_for()
    assert [e.id for e in delivery(app).ledger.entries()] == [entry.id]
    delivery(app).queue.start_worker()
    wait_until(lambda: not delivery(app).ledger.entries(), what="the kept change")
    assert ac.row["firstName"] == "Kept"


def test_changes_waiting_in_the_earlier_redis_ledger_are_moved(portal_for, ac, redis_url):
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    entry = new_entry("main", Change(contact_ref=ac.contact, email="ane@example.org"), 3600)
    client.set(f"portal:ledger:entry:{entry.id}", entry.to_json())
    client.zadd("portal:ledger:all", {entry.id: entry.created})
    app = portal_for(resilience={"queue": "redis", "redis_url": redis_url})
    assert [e.id for e in delivery(app).ledger.entries()] == [entry.id]
    assert client.keys("portal:ledger:*") == []
