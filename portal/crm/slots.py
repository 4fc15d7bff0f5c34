"""Moving windows whose slots can be moved to the moment their call goes out.

The outbound limiter (portal.crm.limiter) takes a CRM request slot before the
call is sent, and a read takes all its calls' slots with its first. The CRM
counts each call when it arrives; a slot counted from when it was taken
lapses early when its call left later, and the slot freed lets one call too
many into the CRM's window. So a store of the limiter's windows tells the
stamp it gave the slots it took, and moves one such slot to "now" when its
call goes out late. The `limits` package's stores do neither; these add it
to its memory and Redis stores, keeping their format, so the rest of
`limits` (window statistics, the limiter's signals) reads them as before.
The portal's database keeps its own (portal.delivery.request_window).
"""

from __future__ import annotations

import time
from typing import Any, Protocol, runtime_checkable

from limits.storage import (
    MemoryStorage,
    RedisClusterStorage,
    RedisSentinelStorage,
    RedisStorage,
    Storage,
    storage_from_string,
)
from limits.storage.memory import Entry


@runtime_checkable
class StampedWindow(Protocol):
    def take(self, key: str, limit: int, expiry: float, amount: int) -> float | None:
        """Take `amount` slots if the window (of `expiry` seconds) has room
        for them within `limit`: the stamp they were given, or None."""

    def restamp(self, key: str, stamp: float, expiry: float) -> bool:
        """Count one slot stamped `stamp` from now: False if none is left
        in the window (it lapsed, so the call needs a slot of its own)."""


class MemoryWindow(MemoryStorage):
    """`memory://`: one process's windows, as `limits` keeps them (newest
    first), each slot its own entry so that one can move alone."""

    def take(self, key: str, limit: int, expiry: float, amount: int) -> float | None:
        if amount > limit:
            return None
        with self.locks[key]:
            events = self.events.setdefault(key, [])
            stamp = time.time()
            while events and events[-1].atime < stamp - expiry:  # lapsed: no one counts them
                events.pop()
            if len(events) > limit - amount and events[limit - amount].atime >= stamp - expiry:
                return None
            events[:0] = [_entry(stamp, expiry) for _ in range(amount)]
            return stamp

    def restamp(self, key: str, stamp: float, expiry: float) -> bool:
        with self.locks[key]:
            events = self.events.get(key, [])
            now = time.time()
            for index, event in enumerate(events):
                if event.atime == stamp:
                    del events[index]
                    if stamp < now - expiry:
                        return False
                    events.insert(0, _entry(now, expiry))
                    return True
            return False


def _entry(stamp: float, expiry: float) -> Entry:
    entry = Entry(expiry)
    entry.atime, entry.expiry = stamp, stamp + expiry
    return entry


# `limits`' own moving-window step, for a window of any length in seconds
# (its own sets the key's expiry to the window, which Redis wants whole).
TAKE = """
local stamp, limit, expiry, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
                                     tonumber(ARGV[4])
if amount > limit then return 0 end
local entry = redis.call('lindex', KEYS[1], limit - amount)
if entry and tonumber(entry) >= stamp - expiry then return 0 end
for i = 1, amount do redis.call('lpush', KEYS[1], stamp) end
redis.call('ltrim', KEYS[1], 0, limit - 1)
redis.call('expire', KEYS[1], math.ceil(expiry))
return 1
"""
# Moves one slot (a list element equal to the stamp given) to the head, as
# the newest; a lapsed one is only dropped. Stamps go through tonumber() as
# in `limits`' script, so they are written as Redis writes a Lua number.
RESTAMP = """
local stamp, now = tonumber(ARGV[1]), tonumber(ARGV[2])
if redis.call('lrem', KEYS[1], 1, stamp) == 0 then return 0 end
if stamp < now - tonumber(ARGV[3]) then return 0 end
redis.call('lpush', KEYS[1], now)
redis.call('expire', KEYS[1], math.ceil(tonumber(ARGV[3])))
return 1
"""


class RedisSlots(RedisStorage):
    """Redis: the windows in `limits`' own Redis lists, taken with its own
    script, at a stamp this process chose and so can name later."""

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        return self.take(key, limit, expiry, amount) is not None

    def take(self, key: str, limit: int, expiry: float, amount: int) -> float | None:
        stamp = time.time()
        taken = self._script("lua_take", TAKE)([self.prefixed_key(key)],
                                               [stamp, limit, expiry, amount])
        return stamp if taken else None

    def restamp(self, key: str, stamp: float, expiry: float) -> bool:
        return bool(self._script("lua_restamp", RESTAMP)([self.prefixed_key(key)],
                                                         [stamp, time.time(), expiry]))

    def _script(self, name: str, text: str) -> Any:
        if not hasattr(self, name):
            setattr(self, name, self.get_connection().register_script(text.encode()))
        return getattr(self, name)


class RestampingRedis(RedisSlots):
    """`redis://`, `rediss://`, `redis+unix://`."""


class RestampingSentinel(RedisSlots, RedisSentinelStorage):
    """`redis+sentinel://`."""


class RestampingCluster(RedisSlots, RedisClusterStorage):
    """`redis+cluster://`."""


def stamped_storage(url: str, **options: Any) -> Storage:
    """The store a `limits` URL names, with slots that can move (memory and
    Redis; the limiter refuses any other)."""
    if url.startswith("memory://"):
        return MemoryWindow(url, **options)
    if url.startswith("redis+sentinel://"):
        return RestampingSentinel(url, **options)
    if url.startswith("redis+cluster://"):
        return RestampingCluster(url, **options)
    if url.startswith(("redis://", "rediss://", "redis+unix://")):
        return RestampingRedis(url, **options)
    storage = storage_from_string(url, **options)
    if not isinstance(storage, Storage):
        raise ValueError(f'"{url}" names an asynchronous store.')
    return storage
