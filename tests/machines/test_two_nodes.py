"""Two machines behind a load balancer, with real parts and real failures:
sign-in links and sessions work across nodes; while contacts keep saving,
node A dies (SIGKILL), Redis restarts empty and the CRM answers 503 for ten
seconds, and still every save the portal confirmed reaches the CRM exactly
once, without one 429; with an expiring OAuth token, both nodes share it and
the token endpoint sees one refresh per expiry."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.machines.conftest import (
    Cluster,
    csrf_of,
    open_link,
    request_link,
    sign_in,
)
from tests.resilience.conftest import FAST, Account, config_text, wait_until
from tests.support.smtp import Inbox

CONTACTS = ["ane@example.org", "jon@example.org"]
LATENCY, PER_SECOND = 0.15, 5  # what ActiveCampaign's fake answers in, and allows
SHARED = {  # the several-machine deployment of docs/operations.md, with faults in seconds
    **FAST, "queue": "redis", "cache": "redis", "apply_timeout": 2.0, "backoff_first": 0.5,
    "backoff_max": 2.0, "lease_seconds": 20.0, "sweep_after_seconds": 2.0,
}


def ac_config(ac: Account, smtp: Inbox):
    def config(public_url: str, redis_url: str) -> str:
        text = config_text(ac, smtp.port, resilience={**SHARED, "redis_url": redis_url},
                           extra="\n[proxy]\ntrusted_hops = 1\n")
        return text.replace("demo = true", f'demo = false\npublic_url = "{public_url}"')
    return config


def served_by(response: requests.Response) -> str:
    return response.headers.get("X-Node", "")


def next_request_to(cluster: Cluster, browser: requests.Session, node: str) -> None:
    """Round robin: after an answer from the other node, the next request goes to `node`."""
    for _ in range(4):
        if served_by(browser.get(cluster.url + "/")) != node:
            return
    raise AssertionError(f"nginx sent every request to {node}")


def link_answer(cluster: Cluster, link: str, node: str) -> int:
    """The status a fresh browser gets opening `link` on `node`."""
    browser = cluster.browser()
    next_request_to(cluster, browser, node)
    page = browser.get(link)
    assert served_by(page) == node
    return page.status_code


@pytest.fixture
def ac_cluster(cluster, ac: Account, smtp: Inbox) -> Cluster:
    for email in CONTACTS[1:]:
        ac.state.add_contact(email, datetime(2026, 1, 5, tzinfo=UTC), firstName="Jon")
    return cluster(ac_config(ac, smtp))


def test_links_and_sessions_work_across_both_nodes(ac_cluster: Cluster, smtp: Inbox):
    cluster = ac_cluster
    a, b = (node.address for node in cluster.nodes)
    browser = cluster.browser()
    # Asked on node A, opened on node B: it works once, on either node.
    next_request_to(cluster, browser, a)
    link = request_link(cluster, browser, smtp, CONTACTS[0])
    opened = browser.get(link)
    assert served_by(opened) == b and "csrf_token" in opened.text
    signed = browser.post(link, data={"csrf_token": csrf_of(opened.text)})
    assert signed.url == cluster.url + "/profile/"
    for node in (a, b):
        assert link_answer(cluster, link, node) == 410  # used: on neither node again

    # The session is honoured on both nodes.
    pages = [browser.get(cluster.url + "/profile/") for _ in range(2)]
    assert {served_by(p) for p in pages} == {a, b}
    assert all(p.url == cluster.url + "/profile/" and "ane@example.org" in p.text for p in pages)

    # A newer link kills the older ones on both nodes.
    other = cluster.browser()
    older = request_link(cluster, other, smtp, CONTACTS[1])
    newer = request_link(cluster, other, smtp, CONTACTS[1])
    for node in (a, b):
        assert link_answer(cluster, older, node) == 410
    assert open_link(other, newer).url == cluster.url + "/profile/"

    # Signed out on one node, the session is over on both.
    page = browser.get(cluster.url + "/profile/")
    out = browser.post(cluster.url + "/sign-out", data={"csrf_token": csrf_of(page.text)})
    assert out.status_code == 200
    after = [browser.get(cluster.url + "/profile/", allow_redirects=False) for _ in range(2)]
    assert {served_by(p) for p in after} == {a, b}
    assert all(p.status_code == 302 and "/profile" not in p.headers["Location"] for p in after)


class Contact(threading.Thread):
    """A contact who keeps saving their profile, each save with a comment of its own."""

    def __init__(self, cluster: Cluster, browser: requests.Session, name: str,
                 stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.cluster, self.browser, self.name, self.stop = cluster, browser, name, stop
        self.tried: list[str] = []
        self.confirmed: list[str] = []
        self.answers: dict[int, int] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            self.save_once(f"{self.name}-{len(self.tried) + 1}")
            self.stop.wait(3.0)  # two contacts: about half the CRM's budget

    def save_once(self, tag: str) -> None:
        try:
            page = self.browser.get(self.cluster.url + "/profile/", timeout=30)
            if page.status_code != 200 or "csrf_token" not in page.text:
                return
            self.tried.append(tag)
            answer = self.browser.post(self.cluster.url + "/profile/", timeout=30,
                                       allow_redirects=False, data={
                                           "csrf_token": csrf_of(page.text), "first_name": tag,
                                           "topics": ["music"], "comments": f"Save {tag}.",
                                           "action": "save"})
        except requests.RequestException:
            return  # a node died under this request: not confirmed
        self.answers[answer.status_code] = self.answers.get(answer.status_code, 0) + 1
        if answer.status_code == 302 and answer.headers["Location"].endswith("/profile/"):
            self.confirmed.append(tag)


def pending_in_ledger(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            return int(db.execute(text("SELECT count(*) FROM ledger_entries")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.timeout(400)
def test_saves_survive_a_dead_node_a_redis_restart_and_a_crm_outage(
        ac_cluster: Cluster, ac: Account, smtp: Inbox):
    cluster = ac_cluster
    ac.server.faults.latency, ac.server.faults.per_second = LATENCY, PER_SECOND
    stop = threading.Event()
    contacts = [Contact(cluster, sign_in(cluster, smtp, email), email.split("@")[0], stop)
                for email in CONTACTS]
    for contact in contacts:
        contact.start()
    time.sleep(8)
    cluster.nodes[0].kill()
    time.sleep(6)
    cluster.redis.restart()  # empty: every wake-up and cached profile is gone
    time.sleep(6)
    ac.server.faults.fail_status, ac.server.faults.fail_next = 503, 10**9
    time.sleep(10)
    ac.server.faults.fail_next = 0
    back = time.monotonic()
    time.sleep(4)
    stop.set()
    for contact in contacts:
        contact.join(60)
    wait_until(lambda: pending_in_ledger(cluster.database_url) == 0, 180, "the queue to drain")
    drained = time.monotonic() - back

    notes = [n["note"] for n in ac.state.notes]
    landed = {tag: sum(f"Save {tag}." in note for note in notes)
              for contact in contacts for tag in contact.tried}
    confirmed = [tag for contact in contacts for tag in contact.confirmed]
    duplicates = [tag for tag, count in landed.items() if count > 1]
    print(f"\nsaves confirmed {len(confirmed)}, in the CRM {sum(landed.values())} "
          f"(of {len(landed)} tried), duplicates {len(duplicates)}, "
          f"429s {ac.server.rate_limited}, drained {drained:.1f} s after the CRM came back; "
          f"answers {[c.answers for c in contacts]}")
    assert len(confirmed) >= 10, [c.answers for c in contacts]
    assert [tag for tag in confirmed if landed[tag] != 1] == []
    assert duplicates == []
    assert ac.server.rate_limited == 0
    assert cluster.nodes[1].process.poll() is None


USABLE = 3.0  # seconds a token is used before the portal refreshes it (HubSpot: 300 s early)


def hubspot_config(server_url: str, smtp: Inbox):
    def config(public_url: str, redis_url: str) -> str:
        return f"""
[portal]
name = "OAuth on two nodes"
demo = false
public_url = "{public_url}"
languages = ["es", "eu", "en"]
default_language = "en"
crm = "main"

[mail]
backends = ["smtp"]
smtp_host = "127.0.0.1"
smtp_port = {smtp.port}
from = "Test <no-reply@example.org>"

[crm.main]
type = "hubspot"
auth = "oauth"
base_url = "{server_url}"
client_id = "client-id"

[resilience]
queue = "redis"
cache = "none"
redis_url = "{redis_url}"

[proxy]
trusted_hops = 1

[[fields]]
key = "first_name"
crm_field = "firstname"
type = "text"
label = "First name"
"""
    return config


@pytest.fixture
def hubspot(monkeypatch):
    from tests.fakes import hubspot as fake

    server, state = fake.start()
    # (asked, answered) of each refresh: a token is usable from its answer
    # on, so its lifetime counts from there (a node busy reading the answer
    # only makes the next refresh later).
    refreshes: list[tuple[float, float]] = []

    def a_refresh() -> bool:
        from flask import request

        return request.path == "/oauth/v1/token" \
            and request.form.get("grant_type") == "refresh_token"

    @server.app.before_request
    def asked() -> None:
        from flask import g

        if a_refresh():
            g.refresh = len(refreshes)
            refreshes.append((time.monotonic(), 0.0))

    @server.app.after_request
    def answered(response):
        from flask import g

        if a_refresh() and response.status_code == 200:
            refreshes[g.refresh] = (refreshes[g.refresh][0], time.monotonic())
        return response

    state.tokens.lifetime = int(300 + USABLE)
    monkeypatch.setenv("PORTAL_CRM_MAIN_CLIENT_SECRET", state.tokens.client_secret)
    monkeypatch.setenv("PORTAL_CRM_MAIN_REFRESH_TOKEN", "refresh-1")
    yield server, state, refreshes
    server.stop()


def test_both_nodes_share_one_oauth_token_refreshed_once_per_expiry(cluster, hubspot,
                                                                    smtp: Inbox):
    server, state, refreshes = hubspot
    for email in CONTACTS:
        state.add_contact(email, firstname=email.split("@")[0])
    nodes = cluster(hubspot_config(server.url, smtp))
    browsers = [sign_in(nodes, smtp, email) for email in CONTACTS]
    started, pages = time.monotonic(), 0
    while time.monotonic() - started < 4 * USABLE + 1:  # several expiries, pages on both nodes
        for browser in browsers:
            page = browser.get(nodes.url + "/profile/")
            assert page.status_code == 200 and page.url == nodes.url + "/profile/"
            pages += 1
        time.sleep(0.8)  # a page costs HubSpot two or three calls: keep within its budget
    elapsed = time.monotonic() - started
    # From one refresh's answer to the next refresh's request.
    gaps = [later[0] - earlier[1] for earlier, later in itertools.pairwise(refreshes)]
    print(f"\n{len(refreshes)} refreshes for {pages} pages in {elapsed:.1f} s on "
          f"{sorted(nodes.served_by.values())} answers per node; gaps {[round(g, 1) for g in gaps]}")
    assert all(count > 5 for count in nodes.served_by.values()) and len(nodes.served_by) == 2
    assert len(refreshes) >= 4  # the token did expire, again and again
    assert min(gaps) > USABLE - 0.5  # never two refreshes for one expiry
