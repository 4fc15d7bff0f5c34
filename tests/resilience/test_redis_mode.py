"""Several web servers sharing the work as docs/operations.md deploys them:
the ledger in one PostgreSQL, the queue's wake-ups, the profile cache and the
outbound limiter's counters in one Redis."""

from __future__ import annotations

import pytest
import redis

from portal.delivery import delivery
from portal.delivery.request_window import ForgivingRedisWindow
from tests.crm.test_limiter_stamps import (
    a_page_arriving_as_slots_lapse_waits_for_their_margin_alone,
    a_slot_moved_counts_from_its_new_time,
)
from tests.resilience.conftest import queue_cli, save, signed_in_client, wait_until
from tests.resilience.test_reads import crowd_reads, max_in_one_second
from tests.support.config import STRONG_KEY
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401 - fixtures


@pytest.fixture
def shared(redis_url, postgres_url, monkeypatch):  # noqa: F811 - a fixture
    monkeypatch.setenv("PORTAL_DATABASE_URL", postgres_url)
    monkeypatch.setenv("PORTAL_SECRET_KEY", STRONG_KEY)  # one key on every server
    redis.Redis.from_url(redis_url).flushdb()
    return {"resilience": {"queue": "redis", "cache": "redis", "redis_url": redis_url},
            "storage_url": redis_url}


def test_a_change_kept_by_one_server_is_seen_and_delivered_by_another(portal_for, ac, smtp,
                                                                     shared):
    web1 = portal_for(instance="web1", **shared)
    web2 = portal_for(instance="web2", **shared)
    one, two = signed_in_client(web1, smtp), signed_in_client(web2, smtp)
    one.get("/profile/")
    ac.server.go_down()
    save(one, ac, first_name="Shared", comments="Via Redis.")
    # The other server shows what the contact saved: same ledger (in PostgreSQL).
    page = two.get("/profile/").data.decode()
    assert 'value="Shared"' in page
    assert "1 pending, 0 failed." in queue_cli(web2, "list")

    ac.server.come_back()
    delivery(web2).queue.start_worker()
    wait_until(lambda: not delivery(web1).ledger.entries(), what="delivery via Redis")
    assert ac.row["firstName"] == "Shared"
    assert len([n for n in ac.notes() if "Via Redis." in n]) == 1


def test_servers_share_one_budget_per_crm(portal_for, ac, shared):
    ac.server.faults.per_second = 5
    shared["resilience"]["limiter_max_wait"] = 5.0
    web1 = portal_for(instance="web1", **shared)
    web2 = portal_for(instance="web2", **shared)
    start = len(ac.arrivals)
    statuses = crowd_reads([web1, web2], ac)
    assert statuses.count(200) == 12
    assert ac.server.rate_limited == 0
    assert max_in_one_second(ac.arrivals[start:]) <= 5


def test_worker_outage_in_redis_mode_loses_nothing(portal_for, ac, smtp, shared):
    web = portal_for(**shared)
    client = signed_in_client(web, smtp)
    client.get("/profile/")
    ac.server.go_down()
    for name in ("One", "Two", "Three"):
        save(client, ac, first_name=name)
    assert len(delivery(web).ledger.entries()) == 3
    ac.server.come_back()
    delivery(web).queue.start_worker()
    wait_until(lambda: not delivery(web).ledger.entries(), what="all three")
    assert ac.row["firstName"] == "Three"  # in the order they were saved


def test_a_slot_counted_in_redis_moves_to_when_its_call_went_out(shared):
    a_slot_moved_counts_from_its_new_time(ForgivingRedisWindow(shared["storage_url"]))


def test_a_page_arriving_as_redis_slots_lapse_waits_for_their_margin_alone(shared):
    a_page_arriving_as_slots_lapse_waits_for_their_margin_alone(
        ForgivingRedisWindow(shared["storage_url"]))


def test_queue_work_on_every_server_together_leaves_the_pages_their_share(shared):
    import contextvars
    import threading

    from portal.crm.base import BACKGROUND, CallPolicy, CrmRateLimited, calls_under
    from portal.crm.limiter import SharedLimiter

    no_wait = CallPolicy(wait=False)  # a free slot now, or CrmRateLimited at once

    # A minute's window, so a slow machine cannot see slots come back mid-test.
    servers = [SharedLimiter(shared["storage_url"], {"main": "5/minute"}) for _ in range(2)]
    start = threading.Barrier(8)
    took: list[bool] = []

    def queue_call(limiter: SharedLimiter) -> None:
        with calls_under(BACKGROUND), calls_under(no_wait):
            start.wait()
            try:
                limiter.acquire("main")
                took.append(True)
            except CrmRateLimited:
                took.append(False)

    workers = [threading.Thread(target=contextvars.copy_context().run, args=(queue_call, s))
               for s in servers for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    # Eight queue calls at once from two servers: three of the five slots go
    # to them, two stay for contacts' pages.
    assert took.count(True) == 3 and took.count(False) == 5
    with calls_under(no_wait):
        servers[1].acquire("main")
        servers[0].acquire("main")
        with pytest.raises(CrmRateLimited):
            servers[1].acquire("main")
