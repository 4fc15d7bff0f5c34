"""The `[resilience]` section: queue, retries, caches and the outbound limiter.

    [resilience]
    queue = "sqlite"              # where wake-ups wait; "redis" when several machines share the work
    queue_path = "queue.sqlite3"  # the wake-ups, under the instance folder (the ledger is in
                                  # the portal's database)
    redis_url = "redis://127.0.0.1:6379/0"   # PORTAL_REDIS_URL wins (it may hold a password)
    embedded_worker = true        # run the queue inside the web process; false with huey_consumer
    worker_threads = 2
    apply_timeout = 5.0           # seconds a page waits for the CRM before queueing the change
    backoff_first = 5.0           # first retry after this many seconds, doubling each time...
    backoff_max = 600.0           # ...up to this
    deadline_hours = 72.0         # then the change is kept, flagged failed, for an operator
    lease_seconds = 120.0         # a job running longer than this is presumed dead
    sweep_after_seconds = 60.0    # overdue entries no worker holds are enqueued again
    cache = "filesystem"          # "simple" (one process), "redis", or "none"
    profile_cache_seconds = 300
    stale_profile_seconds = 86400 # shown (with pending changes) while the CRM is down
    catalog_cache_seconds = 3600
    limiter = true                # keep under each [crm.NAME] rate_limit
    limiter_max_wait = 1.5        # a page waits this long for a slot, then queues or says so
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from portal.config.section import Report, Section

CHOICES = {"queue": ("sqlite", "redis"), "cache": ("filesystem", "simple", "redis", "none")}


@dataclass(frozen=True)
class Resilience:
    queue: str = "sqlite"
    queue_path: str = "queue.sqlite3"
    redis_url: str = ""
    embedded_worker: bool = True
    worker_threads: int = 2
    worker_poll_seconds: float = 1.0
    apply_timeout: float = 5.0
    backoff_first: float = 5.0
    backoff_max: float = 600.0
    deadline_hours: float = 72.0
    lease_seconds: float = 120.0
    sweep_after_seconds: float = 60.0
    cache: str = "filesystem"
    profile_cache_seconds: int = 300
    stale_profile_seconds: int = 86400
    catalog_cache_seconds: int = 3600
    limiter: bool = True
    limiter_max_wait: float = 1.5

    @property
    def redis(self) -> str:
        return os.environ.get("PORTAL_REDIS_URL") or self.redis_url


DEFAULTS = Resilience()


def _problem(key: str, value: Any) -> str:
    kinds = _kind(getattr(DEFAULTS, key))
    if not isinstance(value, kinds) or (kinds != (bool,) and isinstance(value, bool)):
        return f"must be {'a number' if kinds == (int, float) else kinds[0].__name__}"
    if key in CHOICES and value not in CHOICES[key]:
        return "must be one of " + ", ".join(f'"{c}"' for c in CHOICES[key])
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        return "must not be negative"
    return ""


def _kind(default: Any) -> tuple[type, ...]:
    if isinstance(default, bool):
        return (bool,)
    if isinstance(default, float):
        return (int, float)
    return (type(default),)


def check(section: Mapping[str, Any], report: Report) -> None:
    for key, value in section.items():
        problem = _problem(key, value)
        if problem:
            report(key, problem)
    uses_redis = section.get("queue") == "redis" or section.get("cache") == "redis"
    if uses_redis and not (section.get("redis_url") or os.environ.get("PORTAL_REDIS_URL")):
        report("redis_url", "is needed for Redis (or set PORTAL_REDIS_URL)")


def build(section: Mapping[str, Any]) -> Resilience:
    values = {f.name: section[f.name] for f in fields(Resilience) if f.name in section}
    for f in fields(Resilience):
        if f.name in values and isinstance(getattr(DEFAULTS, f.name), float):
            values[f.name] = float(values[f.name])
    return Resilience(**values)


SECTION = Section("resilience", frozenset(f.name for f in fields(Resilience)), check, build)
