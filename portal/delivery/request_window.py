"""Where the outbound limiter (portal.crm.limiter) counts each CRM's
requests, so that every worker of every process keeps within one budget.

By default the counts live in the portal's database, which every gunicorn
worker of a machine shares (a SQLite file) and every machine shares
(PostgreSQL): in-process counters (`memory://`) let two workers spend the
same second twice and draw 429s from the CRM. When `[portal] storage_url`
names a Redis, the counts live there (the `limits` package's moving window);
while that Redis cannot be reached, no slot is free: a page waits briefly
and shows the cached copy, a save is kept for the queue, and the queue
tries again later. Counters are of what may be lost."""

from __future__ import annotations

import logging
import time

from limits.storage import MovingWindowSupport, Storage
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from portal.crm.slots import RestampingRedis, stamped_storage
from portal.db.engine import Database
from portal.db.shared_models import OutboundRequest

log = logging.getLogger(__name__)

REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://", "redis+sentinel://", "redis+cluster://")


def names_redis(url: str) -> bool:
    return url.startswith(REDIS_SCHEMES)


def request_window(storage_url: str, database: Database) -> Storage:
    """Redis when `storage_url` names one, else the portal's database."""
    if not names_redis(storage_url):
        return DatabaseWindow(database)
    if storage_url.startswith(("redis+sentinel://", "redis+cluster://")):
        return stamped_storage(storage_url)
    return ForgivingRedisWindow(storage_url)


class DatabaseWindow(Storage, MovingWindowSupport):
    """A moving window as rows, one per request slot taken: checking the
    count and taking slots is one exclusive transaction per CRM (an advisory
    lock on PostgreSQL, the write lock on SQLite)."""

    def __init__(self, database: Database) -> None:
        super().__init__()
        self.database = database

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        return self.take(key, limit, expiry, amount) is not None

    def take(self, key: str, limit: int, expiry: float, amount: int) -> float | None:
        if amount > limit:
            return None
        with self.database.exclusive(f"outbound:{key}") as db:
            now = time.time()  # once the lock is ours: waiting for it is not sending
            db.execute(delete(OutboundRequest).where(OutboundRequest.key == key,
                                                     OutboundRequest.at <= now - expiry))
            taken = db.execute(select(func.count()).select_from(OutboundRequest)
                               .where(OutboundRequest.key == key)).scalar_one()
            if taken + amount > limit:
                return None
            db.execute(insert(OutboundRequest), [{"key": key, "at": now}] * amount)
        return now

    def restamp(self, key: str, stamp: float, expiry: float) -> bool:
        now = time.time()
        if stamp <= now - expiry:  # lapsed: moving it would count it twice with the new slot
            return False
        with self.database.transaction() as db:
            one = (select(OutboundRequest.id).where(OutboundRequest.key == key,
                                                    OutboundRequest.at == stamp)
                   .limit(1).scalar_subquery())
            moved = db.execute(update(OutboundRequest).where(OutboundRequest.id == one)
                               .values(at=now)).rowcount
        return bool(moved)

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        with self.database.transaction() as db:
            oldest, taken = db.execute(
                select(func.min(OutboundRequest.at), func.count())
                .where(OutboundRequest.key == key, OutboundRequest.at > now - expiry)).one()
        return (oldest if oldest is not None else now), int(taken)

    def clear(self, key: str) -> None:
        with self.database.transaction() as db:
            db.execute(delete(OutboundRequest).where(OutboundRequest.key == key))

    def reset(self) -> int | None:
        with self.database.transaction() as db:
            return db.execute(delete(OutboundRequest)).rowcount

    def check(self) -> bool:
        try:
            self.get_moving_window("check", 1, 1)
        except SQLAlchemyError:
            return False
        return True

    # Short-lived counters (how many pages wait for a CRM, their calls in the
    # last second), by which saves and queue work stand back for pages. Their
    # rows hold the time they lapse, under keys no moving window uses.
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        lapses = time.time() + expiry
        with self.database.transaction() as db:
            db.execute(insert(OutboundRequest), [{"key": key, "at": lapses}] * amount)
        return self.get(key)

    def get(self, key: str) -> int:
        now = time.time()
        with self.database.transaction() as db:
            db.execute(delete(OutboundRequest).where(OutboundRequest.key == key,
                                                     OutboundRequest.at <= now))
            return int(db.execute(select(func.count()).select_from(OutboundRequest)
                                  .where(OutboundRequest.key == key)).scalar_one())

    def get_expiry(self, key: str) -> float:
        with self.database.transaction() as db:
            last = db.execute(select(func.max(OutboundRequest.at))
                              .where(OutboundRequest.key == key)).scalar_one()
        return float(last) if last is not None else time.time()


class ForgivingRedisWindow(RestampingRedis):
    """The `limits` package's Redis moving window; while Redis cannot be
    reached every window is full, so callers wait or give up as they would
    for a CRM's spent budget, instead of failing."""

    def take(self, key: str, limit: int, expiry: float, amount: int) -> float | None:
        try:
            return super().take(key, limit, expiry, amount)
        except self.base_exceptions as exc:
            log.warning("Redis cannot count the CRM's requests (%s): no request now.", exc)
            return None

    def restamp(self, key: str, stamp: float, expiry: float) -> bool:
        try:
            return super().restamp(key, stamp, expiry)
        except self.base_exceptions:
            return True  # the slot was taken; with Redis gone no other call is

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        try:
            return super().get_moving_window(key, limit, expiry)
        except self.base_exceptions:
            return time.time(), limit

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        try:
            return super().incr(key, expiry, amount)
        except self.base_exceptions:
            return 0  # a count that may be lost: pages and saves go on as if alone

    def get(self, key: str) -> int:
        try:
            return super().get(key)
        except self.base_exceptions:
            return 0
