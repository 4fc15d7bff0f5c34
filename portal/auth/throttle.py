"""Limits on sign-in link requests, per email and per client address, over
a moving window of one hour, shared by every worker that serves the portal.

Counters live in the portal's database, or in Redis when `[portal]
storage_url` names one. Both hold keyed hashes only: no address, email or
IP in the clear. A request is counted only when it is let through, and then
against both budgets: a refused request spends nobody's budget, so no one
can use up someone else's email budget from an address already refused."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import NamedTuple, Protocol

from limits import RateLimitItemPerHour
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import delete, func, insert, select

from portal.auth.links import email_fingerprint
from portal.db.engine import Database, Every
from portal.db.keys import Keys
from portal.db.models import SignInRequest, utcnow
from portal.delivery.request_window import names_redis

WINDOW = timedelta(hours=1)


class Budget(NamedTuple):
    counter: str  # "email" or "address"
    key: str  # a keyed hash
    per_hour: int


class HourlyCounters(Protocol):
    def spend(self, budgets: Sequence[Budget]) -> bool:
        """Count one request against every budget if none is spent; say whether it was."""


class DatabaseCounters:
    """One row per counted request; the check and the count are one
    exclusive transaction per key, so two workers cannot both take the last
    place."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.purging = Every(300)

    def spend(self, budgets: Sequence[Budget]) -> bool:
        now = utcnow()
        with self.database.exclusive(*(f"sign-in:{b.counter}:{b.key}" for b in budgets)) as db:
            counts = [db.execute(select(func.count()).select_from(SignInRequest).where(
                SignInRequest.counter == b.counter, SignInRequest.key == b.key,
                SignInRequest.at > now - WINDOW)).scalar_one() for b in budgets]
            allowed = all(count < b.per_hour for count, b in zip(counts, budgets, strict=True))
            if allowed:
                db.execute(insert(SignInRequest), [{"counter": b.counter, "key": b.key, "at": now}
                                                   for b in budgets])
        if self.purging.due():
            with self.database.transaction() as db:
                db.execute(delete(SignInRequest).where(SignInRequest.at <= now - WINDOW))
        return allowed


class RedisCounters:
    """The `limits` package's moving window in Redis."""

    def __init__(self, storage_url: str) -> None:
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_url))

    def spend(self, budgets: Sequence[Budget]) -> bool:
        items = [(RateLimitItemPerHour(b.per_hour), f"link-{b.counter}", b.key) for b in budgets]
        if not all(self.limiter.test(item, *keys) for item, *keys in items):
            return False
        # Another worker may take the last place between test and hit: then
        # hit() refuses and so does this request (the other budget may have
        # counted it: a rare race that Redis's moving window cannot avoid).
        return all([self.limiter.hit(item, *keys) for item, *keys in items])


class LinkRequestThrottle:
    def __init__(self, per_email: int, per_address: int, counters: HourlyCounters,
                 secret_key: str) -> None:
        self.per_email = per_email
        self.per_address = per_address
        self.counters = counters
        self.keys = Keys(secret_key)

    def allow(self, email: str, address: str) -> bool:
        """Count one request; False when either budget is spent.

        Both budgets are always tested, so a refusal takes the same path
        whether or not the email is known."""
        return self.counters.spend([
            Budget("address", self.keys.fingerprint("client address", address), self.per_address),
            Budget("email", email_fingerprint(self.keys, email), self.per_email),
        ])

    def allow_address(self, counter: str, address: str, per_hour: int) -> bool:
        """Count one request of a public door limited only by client address
        (`counter` names the door); False when its budget is spent."""
        key = self.keys.fingerprint("client address", address)
        return self.counters.spend([Budget(counter, key, per_hour)])


def hourly_counters(storage_url: str, database: Database) -> HourlyCounters:
    """Redis when `storage_url` names it; else the database, which every worker shares."""
    if names_redis(storage_url):
        return RedisCounters(storage_url)
    return DatabaseCounters(database)
