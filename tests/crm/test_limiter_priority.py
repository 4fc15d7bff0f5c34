"""While a contact's page waits for a CRM's budget, saves and queue work
that have sent nothing yet leave the freed slots to it."""

from __future__ import annotations

import threading
import time

import pytest

from portal.crm.base import BACKGROUND, PAGE, SAVE, CrmRateLimited, calls_under, new_unit_of_work
from portal.crm.limiter import SharedLimiter


def call(limiter: SharedLimiter, policy, done: dict, name: str, fresh: bool = True) -> None:
    if fresh:
        new_unit_of_work()
    with calls_under(policy):
        try:
            limiter.acquire("main")
            done[name] = time.monotonic()
        except CrmRateLimited:
            done[name] = None


def test_a_waiting_page_gets_the_freed_slot_before_queue_work():
    limiter = SharedLimiter("memory://", {"main": "1/second"}, max_wait=3.0)
    new_unit_of_work()
    limiter.acquire("main")  # the window's one call is spent
    done: dict = {}
    queue = threading.Thread(target=call, args=(limiter, BACKGROUND, done, "queue"))
    queue.start()
    time.sleep(0.1)  # the queue's call waits first...
    page = threading.Thread(target=call, args=(limiter, PAGE, done, "page"))
    page.start()
    time.sleep(0.1)
    with pytest.raises(CrmRateLimited):  # ...a save finds the page waiting and goes to the queue
        new_unit_of_work()
        with calls_under(SAVE):
            limiter.acquire("main")
    page.join(5)
    queue.join(5)
    assert done["page"] is not None and done["queue"] is not None
    assert done["page"] < done["queue"]  # the page had the freed slot though it came later


def test_a_save_leaves_a_slot_to_a_waiting_page_and_goes_to_the_queue():
    from portal.crm.calls import calls_together

    limiter = SharedLimiter("memory://", {"main": "5/second"}, max_wait=3.0)
    for _ in range(3):
        new_unit_of_work()
        limiter.acquire("main")  # two slots left
    done: dict = {}

    def page_read() -> None:  # a read of two calls, leaving a slot to calls under way
        new_unit_of_work()
        with calls_together("main", 2):
            call(limiter, PAGE, done, "page", fresh=False)

    page = threading.Thread(target=page_read)
    page.start()
    time.sleep(0.2)  # the page waits for the window to move
    with pytest.raises(CrmRateLimited):  # a save would fit, but the page waits for those slots
        new_unit_of_work()
        with calls_under(SAVE):
            limiter.acquire("main")
    page.join(5)
    assert done["page"] is not None


def test_saves_stand_back_as_long_as_any_page_waits_not_only_the_first():
    """Two pages wait in turn for a budget of one call a second. When the
    first has its slot and the second still waits, a save must not take the
    slot the second is waiting for (the first's waiting is long over)."""
    limiter = SharedLimiter("memory://", {"main": "1/second"}, max_wait=3.0)
    new_unit_of_work()
    limiter.acquire("main")  # the window's one call is spent until 1 s
    started = time.monotonic()
    done: dict = {}
    first = threading.Thread(target=call, args=(limiter, PAGE, done, "first"))
    first.start()
    first.join(5)  # the first page took the slot freed at 1 s
    time.sleep(max(0.0, started + 1.3 - time.monotonic()))
    second = threading.Thread(target=call, args=(limiter, PAGE, done, "second"))
    second.start()  # it waits for the slot freed at 2 s
    time.sleep(max(0.0, started + 2.15 - time.monotonic()))
    new_unit_of_work()
    with calls_under(SAVE):
        try:
            limiter.acquire("main")
            done["save"] = time.monotonic()
        except CrmRateLimited:
            done["save"] = None
    second.join(5)
    assert done["first"] is not None and done["second"] is not None
    assert done["save"] is None  # the save went to the queue...
    assert done["second"] - started < 2.6  # ...and the waiting page had the slot at once
