"""Reads that spare the CRM: the profile cache and the outbound limiter."""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import UTC, datetime

from portal.delivery import delivery
from tests.resilience.conftest import save, signed_in_client


def profile_reads(ac) -> int:
    path = f"/api/3/contacts/{ac.contact}"
    return len([c for c in ac.server.calls_to("GET", path) if c.path == path])


def test_profile_is_read_from_the_crm_once_then_from_the_cache(portal_app, ac, smtp):
    client = signed_in_client(portal_app, smtp)
    assert client.get("/profile/?lang=en").status_code == 200
    first = len(ac.server.calls)
    # Another page view, in another language: same CRM data, no CRM call.
    assert client.get("/profile/?lang=eu").status_code == 200
    assert client.get("/profile/?lang=es").status_code == 200
    assert len(ac.server.calls) == first


def test_a_write_refreshes_the_cached_profile(portal_app, ac, smtp):
    client = signed_in_client(portal_app, smtp)
    client.get("/profile/")
    reads = profile_reads(ac)
    answer = save(client, ac, first_name="Cached", topics=("theatre",))
    assert answer.status_code == 302
    page = client.get("/profile/").data.decode()
    assert "Your changes are saved." in page and 'value="Cached"' in page
    # The save writes without reading the contact first; the page after it costs nothing.
    assert profile_reads(ac) == reads


def test_cache_lifetime_is_configurable(portal_for, ac, smtp):
    app = portal_for(resilience={"profile_cache_seconds": 0})
    client = signed_in_client(app, smtp)
    client.get("/profile/")
    reads = profile_reads(ac)
    client.get("/profile/")
    assert profile_reads(ac) == reads + 1


def test_cache_off_reads_the_crm_every_time(portal_for, ac, smtp):
    app = portal_for(resilience={"cache": "none"})
    client = signed_in_client(app, smtp)
    client.get("/profile/")
    reads = profile_reads(ac)
    client.get("/profile/")
    assert profile_reads(ac) == reads + 1


def test_crm_down_without_a_cached_profile_says_so(portal_app, ac, smtp):
    client = signed_in_client(portal_app, smtp)
    ac.server.go_down()
    assert client.get("/profile/").status_code == 503
    ac.server.come_back()


def max_in_one_second(moments: list[float]) -> int:
    window: deque[float] = deque()
    worst = 0
    for moment in sorted(moments):
        window.append(moment)
        while moment - window[0] >= 1.0:
            window.popleft()
        worst = max(worst, len(window))
    return worst


def crowd_reads(apps, ac, readers: int = 12) -> list[int]:
    """`readers` adapters' worth of profile reads at once, spread over `apps`."""
    from portal.crm.base import Contact

    statuses: list[int] = []
    refs = [ac.state.add_contact(f"c{n}@example.org", datetime.now(UTC)) for n in range(readers)]

    def read(app, ref: str) -> None:
        with app.app_context():
            crm = delivery(app).crm
            try:
                crm.fetch_profile(Contact(ref, "x@example.org"), [], [])
                statuses.append(200)
            except Exception as exc:
                statuses.append(429 if getattr(exc, "transient", False) else 500)

    threads = [threading.Thread(target=read, args=(apps[n % len(apps)], ref))
               for n, ref in enumerate(refs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_limiter_keeps_the_portal_under_the_crms_limit(portal_for, ac):
    ac.server.faults.per_second = 5  # ActiveCampaign's documented limit, enforced by the fake
    app = portal_for(resilience={"limiter_max_wait": 5.0})
    start = len(ac.arrivals)
    statuses = crowd_reads([app], ac)
    assert statuses.count(200) == 12
    assert ac.server.rate_limited == 0
    assert max_in_one_second(ac.arrivals[start:]) <= 5


def test_limiter_gives_up_quickly_rather_than_hang(portal_for, ac):
    app = portal_for(resilience={"limiter_max_wait": 0.2})
    statuses = crowd_reads([app], ac)
    # Four go out at once (the fifth slot is kept for pages under way); the
    # rest are told "rate limited" (transient), none hangs.
    assert statuses.count(200) == 4 and statuses.count(429) == 8
    assert ac.server.rate_limited == 0


def test_queue_work_leaves_room_for_pages():
    import pytest

    from portal.crm.base import CrmBudgetSpent, CrmRateLimited, new_unit_of_work
    from portal.crm.limiter import SharedLimiter

    limiter = SharedLimiter("memory://", {"main": "5/second"}, max_wait=0.1)
    refused: list[CrmBudgetSpent] = []
    queue_work = threading.Thread(target=lambda: [_background_call(limiter, refused)
                                                  for _ in range(4)])
    queue_work.start()
    time.sleep(0.3)  # three went out; the fourth waits for the next window...
    assert queue_work.is_alive()
    new_unit_of_work()
    limiter.acquire("main")  # ...while a page still gets its first call,
    limiter.acquire("main")  # and its second, from the last slot
    new_unit_of_work()
    with pytest.raises(CrmRateLimited):  # and another page is told at once
        limiter.acquire("main")
    queue_work.join(5)
    # A contact was turned away: the queue's fourth call stands back without
    # sending anything (the queue keeps the change and tries again later).
    assert len(refused) == 1 and refused[0].nothing_sent


def _background_call(limiter, refused: list | None = None) -> None:
    from portal.crm.base import BACKGROUND, CrmBudgetSpent, calls_under

    with calls_under(BACKGROUND):
        try:
            limiter.acquire("main")
        except CrmBudgetSpent as exc:
            if refused is None:
                raise
            refused.append(exc)


def test_a_save_finding_the_budget_spent_is_queued_not_held(portal_for, ac, smtp):
    from tests.resilience.conftest import wait_until

    ac.server.faults.per_second = 3
    # Three calls per three seconds: the sign-in's two lookups by email and the
    # profile read spend them all, for longer than a page would wait.
    app = portal_for(main_options='rate_limit = "3/3 seconds"')
    client = signed_in_client(app, smtp)
    client.get("/profile/")
    answer = save(client, ac, first_name="Budget", at_once=True)
    assert answer.status_code == 302
    assert "They will reach our system shortly." in client.get("/profile/").data.decode()
    delivery(app).queue.start_worker()
    wait_until(lambda: not delivery(app).ledger.entries(), 30, "the queued save")
    assert ac.row["firstName"] == "Budget"
    assert ac.server.rate_limited == 0


VOLUNTEERING_TAG = """
  [[groups.items]]
  key = "volunteering"
  kind = "tag"
  ref = "interest-volunteering"
  label = "Volunteering"
"""


def test_a_page_read_takes_its_calls_together_or_none(portal_for, ac, smtp):
    import contextvars

    from portal.crm.base import new_unit_of_work

    ac.server.faults.per_second = 5
    # With a tag item shown, ActiveCampaign reads a profile in two calls: the
    # contact, then its contactTags.
    app = portal_for(resilience={"limiter_max_wait": 0.2, "cache": "none"},
                     extra=VOLUNTEERING_TAG)
    client = signed_in_client(app, smtp)
    limiter = delivery(app).crm.http.limiter
    contact_path = f"/api/3/contacts/{ac.contact}"
    tags_path = f"{contact_path}/contactTags"

    def reads() -> list:
        return [c for c in ac.server.calls if c.path in (contact_path, tags_path)]

    def spend(calls: int) -> None:
        new_unit_of_work()
        for _ in range(calls):
            limiter.acquire("main")

    time.sleep(1.1)  # the sign-in's lookups leave the window
    contextvars.copy_context().run(spend, 3)
    before = len(reads())
    # Two slots left, one of them kept for work under way: the page cannot
    # have both calls, so it spends none and says the system is busy.
    assert client.get("/profile/").status_code == 503
    assert len(reads()) == before

    time.sleep(1.1)
    assert client.get("/profile/").status_code == 200
    assert [c.path for c in reads()[before:]] == [contact_path, tags_path]
    assert ac.server.rate_limited == 0


def test_a_budget_of_one_call_a_window_still_lets_queue_work_through():
    import pytest

    from portal.crm.base import BACKGROUND, CallPolicy, CrmRateLimited, calls_under
    from portal.crm.limiter import SharedLimiter

    limiter = SharedLimiter("memory://", {"main": "1/minute"})
    no_wait = CallPolicy(wait=False)  # a free slot now, or CrmRateLimited at once
    with calls_under(BACKGROUND), calls_under(no_wait):
        limiter.acquire("main")  # the only slot: no reserve can hold it back
        with pytest.raises(CrmRateLimited):
            limiter.acquire("main")
