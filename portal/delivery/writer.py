"""Applying a contact's Change to the CRM (and its mirrors), never losing it.

A save is applied at once, with the short timeout of the web path. On a
transient fault (timeout, reset, 5xx, 429, the outbound limiter saying
"not now") it is kept in the ledger and delivered by the queue with
exponential backoff that honours Retry-After, until it lands or its
deadline passes; then it stays in the ledger flagged failed, for an
operator. A permanent fault is the contact's to see and fix.

Mirror CRMs get every change through the queue, after the main CRM was
tried. Each CRM has its own contact ids, so a mirror finds its contact by
the change's email, creating it where the adapter can.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum

from portal.crm.base import (
    SAVE,
    Change,
    CrmAdapter,
    CrmBudgetSpent,
    CrmError,
    CrmRateLimited,
    ItemRef,
    calls_under,
    first_attempt,
)
from portal.delivery.cache import ProfileCache
from portal.delivery.ledger import (
    FAILED,
    PENDING,
    Entry,
    Lease,
    Ledger,
    new_entry,
    pending_changes,
)

log = logging.getLogger(__name__)

Wake = Callable[[str, float], None]  # (entry id, when as epoch seconds): enqueue a delivery


class Outcome(Enum):
    APPLIED = "applied"  # in the CRM now
    QUEUED = "queued"  # kept safely; will reach the CRM shortly
    REFUSED = "refused"  # the CRM refused it for good; the contact must change something
    FAILED = "failed"  # could not be applied nor kept


@dataclass
class _Done:
    """What a delivery told the ledger of its entries: `removed` (landed) or
    `settled` (failed, or when to try again). Any other entry it held was cut off."""

    removed: set[str] = field(default_factory=set)
    settled: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class WriteResult:
    outcome: Outcome
    error: CrmError | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again: doubling from `first` up to `maximum`, with jitter,
    never sooner than the CRM's Retry-After; give up at the entry's deadline."""

    first: float = 5.0
    maximum: float = 600.0
    deadline: float = 72 * 3600.0

    def delay(self, attempts: int, error: CrmError) -> float:
        backoff = min(self.maximum, self.first * 2.0 ** max(0, attempts - 1))
        backoff *= random.uniform(0.8, 1.2)  # spread a crowd of retries apart
        asked = error.retry_after if isinstance(error, CrmRateLimited) else None
        return max(backoff, asked or 0.0)


class Writer:
    def __init__(self, crm: CrmAdapter, mirrors: dict[str, CrmAdapter] | None = None, *,
                 ledger: Ledger, wake: Wake, profiles: ProfileCache,
                 policy: RetryPolicy | None = None, lease_seconds: float = 120.0) -> None:
        self.crm = crm
        self.mirrors = mirrors or {}
        self.ledger = ledger
        self.wake = wake
        self.profiles = profiles
        self.policy = policy or RetryPolicy()
        self.lease_seconds = lease_seconds

    # --- the web path ------------------------------------------------------------

    def submit(self, change: Change, *, now: bool = True) -> WriteResult:
        """Apply `change` to the main CRM now, or keep it for the queue; mirrors
        get what the main CRM took (or will take), always through the queue.
        Whatever the save leaves for the queue is kept in one transaction,
        committed before the contact is told the change is saved.
        `now=False`: a write no contact waits for, kept for the queue at once
        (it yields to pages and goes in bulk)."""
        earlier = pending_changes(self.ledger, self.crm.name, change.contact_ref)
        # An older change still on its way: this one must land after it.
        waits = not all(_independent(older, change) for older in earlier)
        error = None if waits or not now else self._apply_now(change)
        if error is not None and not error.transient:
            return WriteResult(Outcome.REFUSED, error)
        queued = waits or not now or error is not None
        keep = [self._entry(name, change) for name in self.mirrors]
        if queued:
            why = ("Waits for an earlier change of this contact." if waits
                   else "Written in the background." if not now else str(error))
            keep.insert(0, self._entry(self.crm.name, change, why, error))
        try:
            self.ledger.add(keep)
        except Exception as exc:  # the database failed just now
            log.error("Change %s could not be kept for %s: %s", change.id,
                      ", ".join(e.crm for e in keep), exc)
            return WriteResult(Outcome.FAILED, error) if queued else WriteResult(Outcome.APPLIED)
        for entry in keep:
            self.wake(entry.id, entry.next_try)
        if not queued:
            return WriteResult(Outcome.APPLIED)
        log.info("Change %s queued for %s (entry %s)", change.id, self.crm.name, keep[0].id)
        return WriteResult(Outcome.QUEUED, error)

    def _apply_now(self, change: Change) -> CrmError | None:
        """Apply the change to the main CRM; the error that kept it out, if any."""
        try:
            # When the CRM's budget is spent the queue is the better place to
            # wait. `write` takes the slots of all the save's calls before the
            # first goes out, or sends nothing: a write cut off halfway would
            # be written again, and read back first, by the queue.
            with calls_under(SAVE), first_attempt():
                self.crm.write(change)
        except CrmError as exc:
            log.warning("Change %s not applied to %s: %s", change.id, self.crm.name, exc)
            return exc
        self.profiles.refresh(self.crm.name, change)
        return None

    def _entry(self, crm: str, change: Change, why: str = "",
               error: CrmError | None = None) -> Entry:
        entry = new_entry(crm, change, self.policy.deadline, why)
        if error is not None:
            # What the save sent nothing of, the queue's try is still the first.
            entry = replace(entry, attempts=int(_sent(error)),
                            next_try=time.time() + self.policy.delay(1, error))
        return entry

    # --- the queue's path --------------------------------------------------------

    def deliver(self, entry_id: str) -> None:
        """Try one ledger entry (run by the queue). Safe to run twice: the lease
        keeps two workers apart and a Change applies idempotently. Where the
        main CRM writes many contacts at once, the entry takes along other
        contacts' changes that are due, up to the CRM's bulk size."""
        entry = self.ledger.get(entry_id)
        if entry is None or entry.status != PENDING or entry.next_try > time.time() + 1:
            return  # landed, failed, or a duplicate wake-up ahead of its time
        lease = self.ledger.claim(entry_id, self.lease_seconds)
        if lease is None:
            return  # another worker holds it
        entry = _tried(entry, lease)
        group, done = [entry], _Done()
        try:
            if entry.crm == self.crm.name and self.crm.bulk_size > 1 and not self._older(entry):
                group += self._companions(entry)
            if len(group) > 1:
                self._deliver_many(group, done)
            else:
                self._deliver(entry, done)
        finally:
            held = [e.id for e in group if e.id not in done.removed]
            self.ledger.release(settled=[i for i in held if i in done.settled],
                                cut_off=[i for i in held if i not in done.settled])

    def _companions(self, entry: Entry) -> list[Entry]:
        """Due changes of other contacts, each its contact's oldest, claimed for
        one bulk write with `entry`."""
        taken = self.ledger.claim_companions(entry, self.crm.bulk_size - 1, self.lease_seconds)
        return [_tried(other, lease) for other, lease in taken]

    def _deliver_many(self, group: list[Entry], done: _Done) -> None:
        """One bulk write; each entry settled from its own record's result.
        What landed leaves the ledger in one transaction."""
        try:
            with first_attempt(all(e.attempts == 0 for e in group)):
                results = self.crm.apply_many([e.change for e in group])
        except CrmError as exc:
            results = {e.change.id: exc for e in group}
        landed = [e for e in group if results.get(e.change.id) is None]
        self._landed(landed, self.crm, done)
        for entry in group:
            error = results.get(entry.change.id)
            if error is not None:
                self._settle(entry, error, done)

    def _older(self, entry: Entry) -> list[Entry]:
        """The contact's changes still pending from before this one."""
        return [e for e in self.ledger.for_contact(entry.crm, entry.contact_ref)
                if e.status == PENDING and e.created < entry.created]

    def _deliver(self, entry: Entry, done: _Done) -> None:
        older = self._older(entry)
        if older:  # keep the contact's changes in order; the older one's landing wakes this
            when = max(time.time(), *(o.next_try for o in older)) + 1
            self._retry_later(entry, when, entry.last_error, count=False)
            done.settled.add(entry.id)
            return
        adapter = self.crm if entry.crm == self.crm.name else self.mirrors.get(entry.crm)
        if adapter is None:
            self._fail(entry, f"No CRM named {entry.crm} is configured any more.")
            done.settled.add(entry.id)
            return
        error: CrmError | None = None
        try:
            addressed = self._for(adapter, entry.change)
            if addressed is not None:
                with first_attempt(entry.attempts == 0):
                    adapter.write(addressed)
        except CrmError as exc:
            error = exc
        if error is None:
            self._landed([entry], adapter, done)
        else:
            self._settle(entry, error, done)

    def _landed(self, entries: list[Entry], adapter: CrmAdapter, done: _Done) -> None:
        """Entries that reached `adapter`'s CRM: out of the ledger in one
        transaction, and their contacts' next changes woken."""
        if adapter is self.crm:
            for entry in entries:  # before the overlay goes
                self.profiles.refresh(self.crm.name, entry.change)
        self.ledger.remove([e.id for e in entries])
        for entry in entries:
            done.removed.add(entry.id)
            log.info("Entry %s delivered after %d attempt(s)", entry.id, entry.attempts + 1)
            self._wake_next(entry)

    def _settle(self, entry: Entry, error: CrmError, done: _Done) -> None:
        """After an attempt that failed: failed for good, or later."""
        attempts = entry.attempts + _sent(error)
        if not error.transient:
            self._fail(replace(entry, attempts=attempts), f"{type(error).__name__}: {error}")
        elif time.time() >= entry.deadline:
            self._fail(replace(entry, attempts=attempts), f"Deadline passed; last: {error}")
        else:
            when = time.time() + self.policy.delay(attempts, error)
            self._retry_later(replace(entry, attempts=attempts), when, str(error))
        done.settled.add(entry.id)

    def _wake_next(self, landed: Entry) -> None:
        """The contact's next change for the same CRM may go now, unless a
        failure of its own set its time."""
        following = [e for e in self.ledger.for_contact(landed.crm, landed.contact_ref)
                     if e.status == PENDING]
        if not following:
            return
        after = following[0]
        if after.attempts == 0 and after.next_try > time.time():
            after = replace(after, next_try=time.time())
            self.ledger.save(after)
        self.wake(after.id, after.next_try)

    def _for(self, adapter: CrmAdapter, change: Change) -> Change | None:
        """The change addressed to this CRM's own contact (mirrors match by email),
        with the main CRM's field and list ids translated by the mirror's
        `field_map` and `list_map` (ids without an entry pass unchanged);
        None for a request to be forgotten by a mirror that never had them."""
        if adapter is self.crm:
            return change
        fields = dict(adapter.options.get("field_map", {}))
        lists = dict(adapter.options.get("list_map", {}))

        def item(i: ItemRef) -> ItemRef:
            return replace(i, ref=lists.get(i.ref, i.ref)) if i.kind == "list" else i

        change = replace(
            change,
            fields=tuple(replace(u, field=replace(u.field, crm_field=fields.get(
                u.field.crm_field, u.field.crm_field))) for u in change.fields),
            join=tuple(map(item, change.join)), leave=tuple(map(item, change.leave)),
            consents=tuple(replace(c, item=item(c.item)) for c in change.consents))
        contact = adapter.find_contact(change.email)
        if contact is None and change.erase:
            return None  # never create a contact only to forget them
        if contact is None:
            try:
                contact = adapter.create_contact(change.email, change.name)
            except CrmError as exc:
                if exc.transient:
                    raise  # the next attempt finds or creates it
                # Unsupported, or refused (no permission): say which contact and where.
                raise type(exc)(f"No contact {change.email} in {adapter.name}, and the portal "
                                f"could not create it: {exc}", crm=adapter.name) from exc
        return replace(change, contact_ref=contact.ref)

    def _retry_later(self, entry: Entry, when: float, error: str, count: bool = True) -> None:
        self.ledger.save(replace(entry, next_try=when, last_error=error))
        self.wake(entry.id, when)
        if count:
            log.info("Entry %s: attempt %d failed (%s); next in %.1fs", entry.id,
                     entry.attempts, error, when - time.time())

    def _fail(self, entry: Entry, why: str) -> None:
        log.error("Entry %s failed for good, kept for an operator: %s", entry.id, why)
        self.ledger.save(replace(entry, status=FAILED, last_error=why))


def _sent(error: CrmError) -> bool:
    """Whether an attempt that failed with `error` may have sent something:
    not when the portal's own budget stopped it before its first call."""
    return not (isinstance(error, CrmBudgetSpent) and error.nothing_sent)


def _tried(entry: Entry, lease: Lease) -> Entry:
    """The entry as this delivery sees it: one whose earlier delivery was cut
    off before the ledger heard how it went (its worker died, or its database
    write failed after the CRM's answer) counts as tried, so the adapter
    looks before it writes notes and tags again."""
    return replace(entry, attempts=max(entry.attempts, 1)) if lease.cut_off else entry


def _independent(earlier: Change, later: Change) -> bool:
    """Whether `later` may land before `earlier`, still on its way: `earlier`
    only sets fields `later` leaves alone (a newsletter token written in the
    background), so their order changes nothing."""
    only_fields = replace(earlier, join=(), leave=(), add_tags=(), remove_tags=(), notes=(),
                          automations=(), unsubscribe_all=None, consents=(), erase=False)
    touched = {u.field.crm_field for u in later.fields}
    return earlier == only_fields and not touched & {u.field.crm_field for u in earlier.fields}
