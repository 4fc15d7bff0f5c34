"""A save takes the CRM's request budget for its whole write at once, or
leaves the write to the queue without sending any of it: a write stopped
half-way would have the queue make its first calls a second time."""

from __future__ import annotations

import pytest

from portal.crm.base import (
    BACKGROUND,
    SAVE,
    CallPolicy,
    CrmBudgetSpent,
    calls_under,
    new_unit_of_work,
)
from portal.crm.calls import calls_together
from portal.crm.limiter import SharedLimiter
from portal.delivery import delivery
from tests.resilience.conftest import save, signed_in_client, wait_until

NO_WAIT = CallPolicy(wait=False)  # a free slot now, or CrmRateLimited at once


def writes(ac) -> list[tuple[str, str, bytes]]:
    return [(c.method, c.path, c.body) for c in ac.server.calls if c.method != "GET"]


def test_a_save_is_written_whole_or_left_to_the_queue_untouched_and_lands_once(
        portal_for, ac, smtp):
    ac.server.faults.per_second = 5  # ActiveCampaign's documented limit
    app = portal_for(resilience={"limiter_max_wait": 5.0})
    client = signed_in_client(app, smtp)
    before = len(writes(ac))
    # The sign-in's two lookups and the profile's read took three of this
    # second's five calls: the name, two lists and their notes do not fit in the rest.
    answer = save(client, ac, first_name="Budget", lists=("weekly", "events"), at_once=True)
    assert answer.status_code == 302
    from_the_page = writes(ac)[before:]
    delivery(app).queue.start_worker()
    wait_until(lambda: not delivery(app).ledger.entries(), 30, "the queued save")
    assert ac.row["firstName"] == "Budget" and ac.lists() == {ac.weekly, ac.events}
    made = writes(ac)[before:]
    assert from_the_page in ([], made)  # the page wrote all of it or none
    assert len(made) == len(set(made))  # and no write call was made twice
    assert ac.server.rate_limited == 0


@pytest.mark.parametrize("policy", [BACKGROUND, SAVE], ids=["queue work", "a save"])
def test_work_bigger_than_one_step_of_the_budget_takes_a_step_then_the_rest(policy):
    # Queue work takes three at once (two kept for pages), a save four (one
    # kept); the rest follow as work under way.
    limiter = SharedLimiter("memory://", {"main": "5/second"})
    new_unit_of_work()
    with calls_under(policy), calls_together("main", 5):
        for _ in range(5):
            limiter.acquire("main")


def test_work_that_may_not_wait_and_is_bigger_than_one_step_sends_nothing():
    limiter = SharedLimiter("memory://", {"main": "5/second"})
    new_unit_of_work()
    with calls_under(NO_WAIT), calls_together("main", 5), \
            pytest.raises(CrmBudgetSpent) as caught:
        limiter.acquire("main")
    assert caught.value.nothing_sent
    new_unit_of_work()
    for _ in range(5):
        limiter.acquire("main")  # the budget is whole: the refused work took none of it


def test_queue_work_under_way_takes_its_next_write_call_by_call():
    import contextvars

    limiter = SharedLimiter("memory://", {"main": "5/second"})

    def page_read() -> None:
        new_unit_of_work()
        with calls_together("main", 2):
            limiter.acquire("main")
            limiter.acquire("main")

    new_unit_of_work()
    with calls_under(BACKGROUND), calls_under(NO_WAIT):  # no waiting: what it takes now
        limiter.acquire("main")  # a bulk write under way (its import, say)...
        contextvars.copy_context().run(page_read)  # ...while a page reads
        with calls_together("main", 3):  # the next contact's write: two slots are left
            limiter.acquire("main")
            limiter.acquire("main")
