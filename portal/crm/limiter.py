"""The outbound rate limiter: keeps the portal under each CRM's request budget.

A moving window per CRM (the `limits` package), in the storage its builder
gives (a shared one, or a `limits` URL) so every web worker and queue worker share
one budget. `acquire` waits briefly for a slot and, when the wait would be
longer than `max_wait`, raises CrmRateLimited with the wait as retry_after:
pages don't hang, and the writer queues the change for later. Calls that
continue started work come first, then new pages, then queue work (see
portal.crm.calls for how callers say which is which); while a page waits
for the budget, saves and queue work that sent nothing yet take no slot at
all. A page read that takes several calls reserves them all with its first,
so it never spends one call and then finds no slot for the next; a
save does the same with its write, or leaves it to the queue untouched.
A slot used late (a reserved one, or one whose thread waited after taking
it) is counted again from its use, as the CRM counts the call when it
arrives (portal.crm.slots).

Each `[crm.NAME]` block may set `rate_limit = "5/second"` (any `limits`
string, "100/10 seconds" too); "off" turns it off. The default is the limit
each adapter declares (`default_rate`), the one its CRM documents.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.storage import MovingWindowSupport, Storage

from portal.crm.base import CrmBudgetSpent, CrmConfigError
from portal.crm.calls import Batch, Stamp, Unit, unit
from portal.crm.slots import StampedWindow, stamped_storage

# Between our count and the CRM's lie the network and the scheduling of the
# sending thread: a margin of a tenth of the window, at most 0.25 s, half of
# which every slot counts past its window (`_slack`: 0.05 s on a per-second
# budget; a fixed 0.25 s cost a per-second budget a fifth of its calls).
MARGIN = 0.25
MARGIN_SHARE = 0.1
# Seconds saves and queue work stand back after a page found no budget in
# time: changes wait safely in the queue, a contact turned away does not.
TURNED_AWAY_SECONDS = 5
# A page waiting for the budget says so at least this often; saves and queue
# work look back this long, and a little more, to see it.
WAITING_SAID_EVERY = 1.0


class SharedLimiter:
    """`acquire(crm)` for the CRMs given in `rates` (name -> limits string)."""

    def __init__(self, storage_url: str | Storage, rates: Mapping[str, str | None],
                 max_wait: float = 2.0) -> None:
        storage = stamped_storage(storage_url) if isinstance(storage_url, str) else storage_url
        if not isinstance(storage, MovingWindowSupport) or not isinstance(storage, StampedWindow):
            raise CrmConfigError(f'storage_url "{storage_url}" cannot keep the limiter\'s '
                                 'moving windows; use "memory://" or "redis://...".')
        self.storage: StampedWindow = storage
        self.moving: MovingWindowSupport = storage
        # What pages did lately, for saves and queue work to give way to.
        self.waiting = _Signal(storage, "crm-pages-waiting", WAITING_SAID_EVERY + MARGIN)
        self.turned_away = _Signal(storage, "crm-pages-turned-away", TURNED_AWAY_SECONDS)
        self.page_calls = _Signal(storage, "crm-page-calls", 1)
        self.items: dict[str, RateLimitItem] = {}
        # A budget over a longer window is also paced per second: 100 calls per 10
        # seconds spent in the first second would leave pages nothing for nine.
        self.paces: dict[str, RateLimitItem] = {}
        for name, rate in rates.items():
            if not rate:
                continue
            try:
                self.items[name] = parse(rate)
            except ValueError:
                raise CrmConfigError(f'[crm.{name}] rate_limit = "{rate}" is not a rate; write '
                                     'it like "5/second" or "100/10 seconds", or "off".',
                                     crm=name) from None
            item = self.items[name]
            if item.get_expiry() > 1 and item.amount >= item.get_expiry():  # a call a second, or more
                self.paces[name] = RateLimitItemPerSecond(
                    math.ceil(item.amount / item.get_expiry()), namespace="PACE")
        self.max_wait = max_wait

    def acquire(self, crm: str, patience: float | None = None, *, sending: bool = True) -> None:
        """Take a slot for one call (or for the calls announced together),
        waiting up to `patience` seconds if given, else as long as the
        work's kind may wait. `sending=False`: no call goes out on it yet."""
        item = self.items.get(crm)
        if item is None:
            return
        work = unit()
        batch = work.batch if work.batch is not None and work.batch.crm == crm else None
        if batch is not None and batch.held:  # a slot this read reserved with its first call
            batch.held -= 1
            if self._count_from_now(batch.stamps):
                return
            # It lapsed before its use: this call takes a slot of its own.
        cost = self._cost(crm, batch, work)
        patience = self._patience(item, work) if patience is None else patience
        started = time.monotonic()
        while True:
            full, stamps = self._take(crm, cost, work)
            if full is None:
                work.spent = True
                if sending:  # the wait for the store may have made it late
                    self._count_from_now(stamps)
                if batch is not None and not batch.taken:
                    batch.taken, batch.held, batch.stamps = True, cost - 1, stamps
                return
            # Wake when the oldest slot lapses, not later: pages arriving
            # then would take every freed slot from this one. The jitter
            # spreads wakers.
            wait = max(0.0, self._lapse(full, crm) - time.time()) + random.uniform(0, 0.02)
            if time.monotonic() - started + wait > patience:
                if not _yields(work) and not work.policy.background:
                    # A contact was turned away: the budget is short of pages,
                    # so saves and queue work leave it to them for a while.
                    self.turned_away.say(crm)
                raise CrmBudgetSpent(f"{crm}: the portal's own request budget is spent.",
                                     crm=crm, retry_after=wait, nothing_sent=not work.spent)
            self._sleep(crm, work, wait)

    def _lapse(self, window: RateLimitItem, crm: str) -> float:
        """When the oldest slot counted in `window` lapses: the store counts
        each for the window and its slack (`limits`' own window statistics
        see the window alone, and a slot in its slack not at all)."""
        counted_for = _counted_for(window.get_expiry())
        oldest, _ = self.moving.get_moving_window(window.key_for("crm-out", crm), window.amount,
                                                  counted_for)  # type: ignore[arg-type]
        return oldest + counted_for

    def _sleep(self, crm: str, work: Unit, wait: float) -> None:
        """Wait `wait` seconds before trying again; a contact's page says it
        waits at least once a second, so saves and queue work stand back."""
        until = time.monotonic() + wait
        while (left := until - time.monotonic()) > 0:
            if not _yields(work):
                self.waiting.say(crm)
            time.sleep(min(left, WAITING_SAID_EVERY))

    def _cost(self, crm: str, batch: Batch | None, work: Unit) -> int:
        """Slots this call takes: on the first call of calls announced together,
        all of them, as many as one step may give this work (a window less
        its reserve); else one. Work that may not wait and needs more than
        that is refused before it sends anything: started, it would stop
        half-way and the queue would make its first calls again (a save
        waits: it takes what a step gives and the rest as started work). Queue
        work under way goes call by call: it comes first and may wait, and
        waiting for several free slots at once would leave each to pages."""
        if batch is None or batch.taken or (work.spent and work.policy.background):
            return 1
        most = min(w.amount - _reserve(w.amount, work) for w in self._windows(crm))
        if batch.calls > most and not work.policy.wait and not work.spent:
            raise CrmBudgetSpent(f"{crm}: {batch.calls} calls do not fit in one step of the "
                                 "portal's request budget.", crm=crm, retry_after=0.0,
                                 nothing_sent=True)
        return max(1, min(batch.calls, most))

    def _windows(self, crm: str) -> list[RateLimitItem]:
        """The CRM's budget windows, its pace first."""
        return [w for w in (self.paces.get(crm), self.items[crm]) if w is not None]

    def _take(self, crm: str, cost: int, work: Unit) -> tuple[RateLimitItem | None, list[Stamp]]:
        """Take the slots in each window of the CRM's budget (its pace first):
        (None, their stamps), or (the window that has none, []). The store's
        moving-window step does it, with the reserve taken off the limit: it
        checks that the reserve stays free and takes all `cost` slots or none
        in one step, for every process (in Redis it is one script). Entries it
        trims on success are already outside the window, so calls counted
        against the whole limit still see every recent one. While pages want
        the budget, in any process, a save or queue work that has sent
        nothing yet takes no slot."""
        windows = self._windows(crm)
        if _yields(work) and self._pages_busy(crm, windows[0], work.page_calls):
            if not work.policy.background:  # a save: the queue waits better than the contact
                raise CrmBudgetSpent(f"{crm}: contacts' pages come first just now.", crm=crm,
                                     retry_after=windows[0].get_expiry(), nothing_sent=True)
            return windows[0], []
        stamps = []
        for window in windows:
            key = window.key_for("crm-out", crm)
            # A slot counts a little past its window, for every taker: its
            # call reached the CRM a little after its stamp (one later than
            # that is counted from when it went out), so a call sent the
            # moment the slot lapses must not find it still counted there.
            at = self.storage.take(key, window.amount - _reserve(window.amount, work),
                                   _counted_for(window.get_expiry()), cost)
            if at is None:
                return window, []
            stamps.append(Stamp(key, window.get_expiry(), at))
        if not _yields(work) and not work.spent:
            self.page_calls.say(crm, cost)
            work.page_calls += cost
        return None, stamps

    def _count_from_now(self, stamps: list[Stamp]) -> bool:
        """A call is going out on a slot stamped `stamps`: if that was longer
        ago than a slot counts past its window, count one such slot from now
        instead. False if one had lapsed already (nothing left to move)."""
        now = time.time()
        moved = True
        for stamp in stamps:
            if now - stamp.at > _slack(stamp.seconds):
                # A lapsed slot in one window leaves the others moved: a
                # slight over-count, in a case as rare as a call a window late.
                moved = self.storage.restamp(stamp.key, stamp.at,
                                             _counted_for(stamp.seconds)) and moved
        return moved

    def _pages_busy(self, crm: str, window: RateLimitItem, own: int) -> bool:
        """Whether other contacts' pages want this CRM's budget now: one waits
        for it, or their pages took a second's budget (a window's, for windows
        of a second) within the last second, a batch counting what each of
        its contacts would have cost alone; `own` are the calls of this
        request's own page. A spike's saves then go to the queue, which
        writes them in bulk once the pages are served."""
        return (self.waiting.count(crm) > 0 or self.turned_away.count(crm) > 0
                or self.page_calls.count(crm) - own >= window.amount)

    def pages_together(self, crm: str, contacts: int, calls: int) -> None:
        """One batch of `calls` calls read `contacts` contacts' pages: the
        contacts beyond the one whose calls were counted count as the calls
        each would have made alone, so a crowd's demand shows as it is."""
        if crm in self.items and contacts > 1:
            self.page_calls.say(crm, (contacts - 1) * calls)

    def _patience(self, item: RateLimitItem, work: Unit) -> float:
        """How long a call may wait for a slot: spent work and queue workers
        may wait out a couple of windows; pages and saves `max_wait`."""
        if not work.policy.wait:
            return 0.0
        if work.policy.background or work.spent:
            return max(self.max_wait, 2 * item.get_expiry() + _margin(item))
        return self.max_wait

    def reserve(self, crm: str, patience: float | None = None) -> None:
        """Take now, waiting as its first call would (or `patience` seconds),
        every slot of the calls announced with `calls_together`: a batched
        read holds its batch open while it waits, and makes its calls once
        the budget is its own."""
        self.acquire(crm, patience, sending=False)
        batch = unit().batch
        if batch is not None and batch.crm == crm and batch.taken:
            batch.held += 1  # the first slot is not spent on a call yet: counted when it is


class _Signal:
    """Something pages did in the last `seconds`, seen by every process: a
    moving window of events in the limiter's storage (a counter that expires
    would forget a page still waiting once the first waiter's time is up)."""

    ROOM = 10_000  # events kept per CRM: more than a second of any budget holds

    def __init__(self, storage: MovingWindowSupport, name: str, seconds: float) -> None:
        self.storage, self.name, self.seconds = storage, name, seconds

    def say(self, crm: str, times: int = 1) -> None:
        self.storage.acquire_entry(f"{self.name}/{crm}", self.ROOM, math.ceil(self.seconds),
                                   times)

    def count(self, crm: str) -> int:
        return self.storage.get_moving_window(f"{self.name}/{crm}", self.ROOM,
                                              self.seconds)[1]  # type: ignore[arg-type]


def _margin(item: RateLimitItem) -> float:
    return _margin_of(item.get_expiry())


def _margin_of(seconds: int) -> float:
    return min(MARGIN, MARGIN_SHARE * seconds)


def _slack(seconds: int) -> float:
    """How long past a window of `seconds` its slots count: half the margin
    (a twentieth of a second's budget; the whole margin, for every call,
    turned pages away that had to wait)."""
    return _margin_of(seconds) / 2


def _counted_for(seconds: int) -> float:
    return seconds + _slack(seconds)


def _reserve(amount: int, work: Unit) -> int:
    """Slots a call leaves to others, by priority. Work that already spent
    calls (a page's second read) takes any slot: giving up would waste them.
    A new page leaves a fifth of the window to such work; queue work leaves
    two fifths, as a contact waiting for a page comes before a change that is
    already safely kept."""
    if work.spent:
        return 0
    reserve = max(1, amount * 2 // 5) if work.policy.background else amount // 5
    return min(reserve, amount - 1)  # a budget of one call a window still moves


def _yields(work: Unit) -> bool:
    """Saves and queue work that sent nothing yet give way to waiting pages:
    the queue keeps the change, while a page without its profile is a
    contact turned away."""
    return not work.spent and (work.policy.background or work.policy.gives_way)
