"""The outbound rate limiter: keeps the portal under each CRM's request budget.

A moving window per CRM (the `limits` package), in memory for one process or
in Redis (`[portal] storage_url`) so every web worker and queue worker share
one budget. `acquire` waits briefly for a slot and, when the wait would be
longer than `max_wait`, raises CrmRateLimited with the wait as retry_after:
pages don't hang, and the writer queues the change for later. Calls that
continue started work come first, then new pages, then queue work
(`background_work()`). A page read that takes several calls reserves them
all with its first (`calls_together`), so it never spends one call and then
finds no slot for the next.

Each `[crm.NAME]` block may set `rate_limit = "5/second"` (any `limits`
string, "100/10 seconds" too); "off" turns it off. The defaults are the
limits each CRM documents.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from portal.crm.base import CrmConfigError, CrmRateLimited

MARGIN = 0.25  # seconds; network and scheduling jitter between our clock and the CRM's

# Documented limits (see the CRM reference notes); None where there is none to keep.
DEFAULT_RATES: dict[str, str | None] = {
    "activecampaign": "5/second",
    "hubspot": "100/10 seconds",
    "zoho": "10/second",
    "salesforce": None,  # a daily allocation, not a rate
    "local": None,
}


def rate_option(options: Mapping[str, Any]) -> str | None:
    """The rate a `[crm.NAME]` block asks for, or its type's default."""
    rate = options.get("rate_limit", DEFAULT_RATES.get(str(options.get("type", "local"))))
    return None if not rate or rate == "off" else str(rate)


class SharedLimiter:
    """`acquire(crm)` for the CRMs given in `rates` (name -> limits string)."""

    def __init__(self, storage_url: str, rates: Mapping[str, str | None],
                 max_wait: float = 2.0) -> None:
        self.storage = storage_from_string(storage_url)
        self.window = MovingWindowRateLimiter(self.storage)
        self.items: dict[str, RateLimitItem] = {}
        for name, rate in rates.items():
            if not rate:
                continue
            try:
                self.items[name] = parse(rate)
            except ValueError:
                raise CrmConfigError(f'[crm.{name}] rate_limit = "{rate}" is not a rate; write '
                                     'it like "5/second" or "100/10 seconds", or "off".',
                                     crm=name) from None
        self.max_wait = max_wait

    def acquire(self, crm: str) -> None:
        item = self.items.get(crm)
        if item is None:
            return
        batch = _batch.get()
        cost = 1
        if batch is not None and batch.crm == crm:
            if batch.held:  # a slot this read reserved with its first call
                batch.held -= 1
                return
            if not batch.taken:
                cost = max(1, min(batch.calls, item.amount))
        background, spent = _background.get(), _spent.get()
        # Slots a call leaves to others, by priority. Work that already spent
        # calls (a page's second read) takes any slot: giving up would waste
        # them. A new page leaves a fifth of the window to such work; queue
        # work leaves two fifths, as a contact waiting for a page comes before
        # a change that is already safely kept.
        reserve = 0 if spent else max(1, item.amount * 2 // 5) if background \
            else item.amount // 5
        reserve = min(reserve, item.amount - 1)  # a budget of one call a window still moves
        # Spent work and queue workers may wait out a couple of windows.
        patience = self.max_wait
        if background or spent:
            patience = max(self.max_wait, 2 * item.get_expiry() + MARGIN)
        if _no_wait.get():
            patience = 0.0
        started = time.monotonic()
        key = item.key_for("crm-out", crm)
        while True:
            # The storage's own moving-window step, with the reserve taken off
            # the limit: it checks that `reserve` slots stay free and takes all
            # `cost` slots or none in one step, for every process (in Redis it
            # is one script). Entries it trims on success are already outside
            # the window, so calls counted against the whole limit still see
            # every recent one.
            if self.storage.acquire_entry(key, item.amount - reserve, item.get_expiry(),
                                          amount=cost):
                _spent.set(True)
                if batch is not None and batch.crm == crm and not batch.taken:
                    batch.taken, batch.held = True, cost - 1
                return
            reset = self.window.get_window_stats(item, "crm-out", crm).reset_time
            # The margin keeps requests sent just as a slot frees from reaching
            # the CRM a hair inside its own window; the jitter spreads wakers.
            wait = max(0.0, reset - time.time()) + MARGIN + random.uniform(0, 0.02)
            if time.monotonic() - started + wait > patience:
                raise CrmRateLimited(f"{crm}: the portal's own request budget is spent.",
                                     crm=crm, retry_after=wait)
            time.sleep(wait)


_background: ContextVar[bool] = ContextVar("portal_limiter_background", default=False)
_spent: ContextVar[bool] = ContextVar("portal_limiter_spent", default=False)


_no_wait: ContextVar[bool] = ContextVar("portal_limiter_no_wait", default=False)


@dataclass
class _Batch:
    crm: str
    calls: int
    taken: bool = False
    held: int = 0  # slots taken and not yet used


_batch: ContextVar[_Batch | None] = ContextVar("portal_limiter_batch", default=None)


@contextmanager
def calls_together(crm: str, calls: int) -> Iterator[None]:
    """The first call to `crm` inside takes slots for `calls` calls at once,
    and the next ones use them. A page read that got its first call but no
    slot for its second would waste the first; reserving both up front spends
    the budget on pages that can be shown. Nothing is taken if no call is
    made (a cached profile); slots left unused expire with their window."""
    if calls <= 1:
        yield
        return
    token = _batch.set(_Batch(crm, calls))
    try:
        yield
    finally:
        _batch.reset(token)


@contextmanager
def without_waiting() -> Iterator[None]:
    """CRM calls inside take a free slot or fail at once: for work that has a
    better place to wait (a save, which the queue keeps and retries)."""
    token = _no_wait.set(True)
    try:
        yield
    finally:
        _no_wait.reset(token)


def new_unit_of_work() -> None:
    """Call at the start of each request or job: nothing is spent yet."""
    _spent.set(False)


@contextmanager
def background_work() -> Iterator[None]:
    """Mark the CRM calls made inside as queue work, which yields to pages."""
    token = _background.set(True)
    new_unit_of_work()
    try:
        yield
    finally:
        _background.reset(token)
