"""The CRM counts a call when it arrives, not when the portal took its slot.
A slot taken well before its call goes out (the later calls of a read that
reserved several, or a call whose thread waited after taking it) is counted
again from the moment it is used, so the freed slots never let more calls
into one of the CRM's windows than its budget."""

from __future__ import annotations

import threading
import time
from typing import Any

from portal.crm.base import PAGE, CrmBudgetSpent, calls_under, new_unit_of_work
from portal.crm.calls import calls_together
from portal.crm.limiter import SharedLimiter
from portal.crm.slots import MemoryWindow
from tests.resilience.test_reads import max_in_one_second


def test_calls_sent_after_their_reservation_keep_the_crm_within_its_budget():
    limiter = SharedLimiter("memory://", {"main": "5/second"}, max_wait=5.0)
    sent: list[float] = []
    started = threading.Event()

    def slow_read() -> None:  # four calls reserved at once, each 0.3 s after the last
        new_unit_of_work()
        with calls_under(PAGE), calls_together("main", 4):
            for number in range(4):
                limiter.acquire("main")
                sent.append(time.monotonic())
                started.set()
                time.sleep(0.3)

    def quick_reads() -> None:  # single calls, as soon as the budget gives one
        end = time.monotonic() + 2.5
        while time.monotonic() < end:
            new_unit_of_work()
            limiter.acquire("main")
            sent.append(time.monotonic())

    reader = threading.Thread(target=slow_read)
    reader.start()
    started.wait(5)
    others = [threading.Thread(target=quick_reads) for _ in range(3)]
    for thread in others:
        thread.start()
    for thread in [reader, *others]:
        thread.join(10)
    # Without re-counting, the four slots of the slow read lapse together a
    # second after its first call, while its last two calls still count at
    # the CRM: six calls land within one second.
    assert max_in_one_second(sent) <= 5
    assert len(sent) >= 12  # and the budget is still used, not wasted


def test_a_page_that_waits_longer_than_a_second_still_leaves_the_margin():
    # A waiting page wakes at least once a second to say it still waits;
    # waking so, it must not take the slot the moment it lapses, as the CRM
    # may count the last call a little later than the portal did.
    limiter = SharedLimiter("memory://", {"main": "1/2 seconds"}, max_wait=5.0)
    new_unit_of_work()
    limiter.acquire("main")
    first = time.monotonic()
    new_unit_of_work()
    limiter.acquire("main")
    assert time.monotonic() - first >= 2 + 0.095  # the window, and half its 0.2 s margin


def filled_by_new_pages(max_wait: float, store: Any = "memory://") -> tuple[SharedLimiter, float]:
    """A budget of 5 a second in `store` with the 4 slots new pages may take
    just taken, and a moment before the first was (the portal's database
    takes a while to count four)."""
    limiter = SharedLimiter(store, {"main": "5/second"}, max_wait=max_wait)
    first = time.monotonic()
    for _ in range(4):
        new_unit_of_work()
        limiter.acquire("main")
    return limiter, first


def test_a_waiting_page_takes_a_freed_slot_before_pages_that_came_after_it():
    # Pages that come as slots lapse must not take every freed slot from a
    # page already waiting: in a spike, fresh pages keep coming, and the
    # waiting one would be turned away with the budget moving.
    limiter, first = filled_by_new_pages(max_wait=1.5)
    served: list[str] = []

    def waiting_page() -> None:
        new_unit_of_work()
        try:
            limiter.acquire("main")
            served.append("waiting")
        except CrmBudgetSpent:
            served.append("turned away")

    waiter = threading.Thread(target=waiting_page)
    waiter.start()
    time.sleep(1.08 - (time.monotonic() - first))  # the slots lapsed 1.05 s after the first
    for _ in range(4):  # each takes a free slot now, or none
        new_unit_of_work()
        try:
            limiter.acquire("main", patience=0)
            served.append("fresh")
        except CrmBudgetSpent:
            pass
    waiter.join(5)
    assert served[0] == "waiting" and "turned away" not in served


def test_a_page_arriving_just_as_slots_lapse_leaves_half_the_margin():
    a_page_arriving_as_slots_lapse_waits_for_their_margin_alone(MemoryWindow())


def a_page_arriving_as_slots_lapse_waits_for_their_margin_alone(store: Any) -> None:
    """What the limiter does on every store of its windows. Not only pages
    that waited: one arriving fresh a hair after the window's first calls
    lapse could reach the CRM while it still counts them (the CRM counted
    each when it arrived, a little after its stamp). It waits for them, and
    no longer: a store that sees no slot left in the window itself (Redis,
    the database) must not make it wait a window more."""
    limiter, first = filled_by_new_pages(max_wait=5.0, store=store)
    time.sleep(1.02 - (time.monotonic() - first))
    new_unit_of_work()
    limiter.acquire("main")
    waited = time.monotonic() - first
    assert waited >= 1 + 0.045  # the window, and half its 0.1 s margin
    assert waited < 1.3  # and not a window more: the slots lapse at 1.05 s


class SlowStore(MemoryWindow):
    """A store that answers 0.1 s after it took the slots (a busy Redis)."""

    def take(self, key: str, limit: int, expiry: int, amount: int) -> float | None:
        stamp = super().take(key, limit, expiry, amount)
        time.sleep(0.1)
        return stamp


def test_a_read_reserved_late_counts_each_of_its_calls_once():
    store = SlowStore()
    limiter = SharedLimiter(store, {"main": "5/second"}, max_wait=5.0)
    new_unit_of_work()
    with calls_under(PAGE), calls_together("main", 3):
        limiter.reserve("main")  # a batched read takes its slots before its first call
        for _ in range(3):
            limiter.acquire("main")
            time.sleep(0.06)
    assert store.get_moving_window("LIMITER/crm-out/main/5/1/second", 5, 1)[1] == 3


def a_slot_moved_counts_from_its_new_time(window) -> None:
    """What every store of the limiter's windows must do (memory, the
    portal's database, Redis): a slot moved is counted from its move, a slot
    that lapsed cannot be moved."""
    key = f"crm-out/stamps-{time.monotonic_ns()}"
    stamp = window.take(key, 5, 1, 3)
    assert stamp is not None
    assert window.take(key, 5, 1, 3) is None  # three of five taken: no room for three more
    time.sleep(0.6)
    assert window.restamp(key, stamp, 1)
    time.sleep(0.5)  # the first three slots were taken 1.1 s ago; one was moved 0.5 s ago
    assert window.get_moving_window(key, 5, 1)[1] == 1
    assert window.take(key, 5, 1, 5) is None
    assert window.take(key, 5, 1, 4) is not None
    assert not window.restamp(key, stamp, 1)  # the others lapsed: nothing left to move


def test_the_memory_window_moves_a_slot():
    a_slot_moved_counts_from_its_new_time(MemoryWindow())
