"""Reading several contacts' profiles in one batch, where the CRM's API can.

Pages read profiles one contact at a time. On a CRM whose API reads many
contacts at once (`CrmAdapter.batch_size` > 1), a read that finds another
read of the same fields and items already on its way joins the next batch
instead of spending calls of its own. A batch leaves as soon as no read of
its kind is in flight, when it has waited `window` seconds for companions,
or when it holds `batch_size` contacts; a contact alone, with nothing in
flight, pays no wait. The batch then takes its calls from the outbound
limiter while it is still open, so contacts arriving while it waits for the
CRM's budget ride along: the busier the CRM, the bigger the batches.

Each process batches its own requests; the limiter's counters are shared.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from portal.crm.base import (
    Contact,
    CrmAdapter,
    CrmBudgetSpent,
    CrmError,
    CrmUnavailable,
    FieldRef,
    ItemRef,
    Profile,
)
from portal.crm.calls import calls_together

DEFAULT_WINDOW = 0.15  # seconds a read may wait for companions ([crm.NAME] read_batch_window)
FOLLOWER_PATIENCE = 60.0  # a follower waits for its leader's answer at most this long


@dataclass
class _Batch:
    fields: Sequence[FieldRef]
    items: Sequence[ItemRef]
    contacts: dict[str, Contact] = field(default_factory=dict)
    closed: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    found: dict[str, Profile | CrmError] = field(default_factory=dict)
    error: CrmError | None = None
    newest: float = field(default_factory=time.monotonic)  # when its last contact joined

    def answer(self, ref: str, crm: str) -> Profile:
        found = self.found.get(ref) or self.error or CrmUnavailable(
            f"{crm}: the batched read gave no answer for this contact.", crm=crm)
        if isinstance(found, CrmError):
            raise found
        return found


class ReadBatcher:
    """Coalesces `read` calls for one adapter (see the module's docstring)."""

    def __init__(self, adapter: CrmAdapter, window: float = DEFAULT_WINDOW) -> None:
        self.adapter = adapter
        self.window = window
        self._lock = threading.Condition()
        self._open: dict[str, _Batch] = {}
        self._flying: dict[str, int] = {}
        self.batches = 0  # batched reads sent, for benchmarks

    def read(self, contact: Contact, fields: Sequence[FieldRef],
             items: Sequence[ItemRef]) -> Profile:
        key = _key(fields, items)
        with self._lock:
            batch = self._open.get(key)
            lead = batch is None
            if batch is None:
                batch = self._open[key] = _Batch(fields, items)
            batch.contacts[contact.ref] = contact
            batch.newest = time.monotonic()
            if len(batch.contacts) >= self.adapter.batch_size:
                self._close(key, batch)  # full: the next reads start another
        if lead:
            self._lead(key, batch)
        elif not batch.done.wait(FOLLOWER_PATIENCE):
            raise CrmUnavailable(f"{self.adapter.name}: a batched read took too long.",
                                 crm=self.adapter.name)
        return batch.answer(contact.ref, self.adapter.name)

    def _lead(self, key: str, batch: _Batch) -> None:
        deadline = time.monotonic() + self.window
        with self._lock:
            while self._flying.get(key) and not batch.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
        flying = False
        try:
            cost = self.adapter.read_cost(batch.fields, batch.items)
            with calls_together(self.adapter.name, cost):
                self._reserve(batch)  # waits for the CRM's budget with the batch still open
                with self._lock:
                    self._close(key, batch)
                    self._flying[key] = self._flying.get(key, 0) + 1
                    flying = True
                    self.batches += 1
                self._limiter("pages_together", len(batch.contacts), cost)
                batch.found = self.adapter.fetch_profiles(list(batch.contacts.values()),
                                                          batch.fields, batch.items)
        except CrmError as exc:
            batch.error = exc
        finally:
            with self._lock:
                self._close(key, batch)
                if flying:
                    self._flying[key] -= 1
                self._lock.notify_all()
            batch.done.set()

    def _reserve(self, batch: _Batch) -> None:
        """Wait for the batch's calls in the CRM's budget. The wait is the
        first contact's; if it runs out, the batch waits once more for as
        long as its newest contact may still wait (a page's own patience from
        when it joined): a crowd is not turned away with its first arrival."""
        limiter: Any = self.adapter.options.get("limiter")
        if limiter is None:
            return
        try:
            limiter.reserve(self.adapter.name)
        except CrmBudgetSpent as exc:
            left = batch.newest + limiter.max_wait - time.monotonic()
            if not exc.nothing_sent or left <= 0:
                raise
            limiter.reserve(self.adapter.name, left)

    def _limiter(self, method: str, *args: int) -> None:
        """Tell the outbound limiter, if the adapter has one."""
        limiter: Any = self.adapter.options.get("limiter")
        if limiter is not None:
            getattr(limiter, method)(self.adapter.name, *args)

    def _close(self, key: str, batch: _Batch) -> None:
        batch.closed = True
        if self._open.get(key) is batch:
            del self._open[key]
        self._lock.notify_all()


def _key(fields: Sequence[FieldRef], items: Sequence[ItemRef]) -> str:
    return repr((tuple(fields), tuple(items)))
