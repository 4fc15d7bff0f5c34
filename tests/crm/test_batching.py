"""Concurrent page reads on a CRM with batch reads go out together, and a
contact alone pays no wait for companions."""

from __future__ import annotations

import threading
import time

import pytest

from portal.crm import build_adapters
from portal.crm.base import PAGE, Contact, CrmError, ItemRef, Profile, calls_under, new_unit_of_work
from tests.fakes import hubspot as fake

ITEMS = [ItemRef("list", "7"), ItemRef("subscription_type", "101")]


@pytest.fixture
def hub(tmp_path, monkeypatch):
    server, state = fake.start()
    monkeypatch.setenv("PORTAL_CRM_HS_PRIVATE_APP_TOKEN", "pat-eu1-test")
    yield server, state
    server.stop()


def adapter_for(server, tmp_path, **options):
    return build_adapters({"hs": {"type": "hubspot", "base_url": server.url, **options}},
                          tmp_path)["hs"]


def read_all(adapter, contacts):
    found, threads = {}, []

    def page(contact):
        new_unit_of_work()
        with calls_under(PAGE):
            found[contact.ref] = adapter.read_profile(contact, [], ITEMS)

    for contact in contacts:
        threads.append(threading.Thread(target=page, args=(contact,)))
        threads[-1].start()
    for thread in threads:
        thread.join(30)
    return found


def test_a_crowd_of_page_reads_shares_batch_calls(hub, tmp_path):
    server, state = hub
    refs = [state.add_contact(f"c{n}@example.org") for n in range(40)]
    state.lists["7"]["members"].add(refs[5])
    adapter = adapter_for(server, tmp_path)
    contacts = [Contact(ref, "") for ref in refs]
    server.faults.latency = 0.1
    server.calls.clear()
    found = read_all(adapter, contacts)
    assert len(found) == 40
    assert found[refs[5]].subscribed == {ItemRef("list", "7")}
    assert found[refs[6]].subscribed == frozenset()
    # Three calls a batch (contacts, statuses, lists); one read alone would take 120.
    assert len(server.calls) % 3 == 0 and len(server.calls) <= 3 * 5


def test_a_contact_alone_pays_no_wait_for_companions(hub, tmp_path):
    server, state = hub
    state.add_contact("alone@example.org")
    adapter = adapter_for(server, tmp_path, read_batch_window=2.0)
    contact = adapter.find_contact("alone@example.org")
    started = time.monotonic()
    read_all(adapter, [contact])
    assert time.monotonic() - started < 1.0


def test_reads_waiting_for_the_budget_ride_in_one_batch(hub, tmp_path):
    server, state = hub
    contacts = [Contact(state.add_contact(f"c{n}@example.org"), "") for n in range(30)]
    adapter = adapter_for(server, tmp_path, rate_limit="3/second")
    for n in range(3):  # the budget is spent when the crowd arrives
        adapter.find_contact(f"c{n}@example.org")
    server.calls.clear()
    found = read_all(adapter, contacts)
    assert len(found) == 30
    assert len(server.calls) <= 6  # at most two batches of three calls
    assert server.rate_limited == 0


def test_while_a_crowd_of_pages_is_read_together_a_save_goes_to_the_queue(hub, tmp_path):
    from portal.crm.base import SAVE, Change, CrmBudgetSpent, FieldRef, FieldUpdate

    server, state = hub
    contacts = [Contact(state.add_contact(f"c{n}@example.org"), "") for n in range(20)]
    adapter = adapter_for(server, tmp_path)
    server.faults.latency = 0.1
    read_all(adapter, contacts)
    server.calls.clear()
    # The budget has room, but contacts' pages are being read in batches: a
    # save writes one contact with what reads a batch, so it waits in the queue.
    new_unit_of_work()
    change = Change(contact_ref=contacts[0].ref, email="c0@example.org",
                    fields=(FieldUpdate(FieldRef("firstname", "text"), "Ane"),))
    started = time.monotonic()
    with pytest.raises(CrmBudgetSpent) as refused, calls_under(SAVE):
        adapter.apply(change)
    assert refused.value.nothing_sent
    assert time.monotonic() - started < 0.5
    assert server.calls == []


def test_a_contact_who_joins_late_is_not_turned_away_with_the_first(hub, tmp_path):
    """The first contact of a batch has waited its fill for the budget when
    it finds the budget taken again; a contact who joined later still has
    time to wait, and the batch waits for them: both see their profile."""
    server, state = hub
    first, late = (Contact(state.add_contact(f"{n}@example.org"), "") for n in ("first", "late"))
    adapter = build_adapters({"hs": {"type": "hubspot", "base_url": server.url,
                                     "rate_limit": "3/second"}}, tmp_path, max_wait=1.2)["hs"]

    def spend(calls: int, at: float) -> threading.Thread:
        def go() -> None:
            time.sleep(at)
            for _ in range(calls):
                new_unit_of_work()
                adapter.find_contact("first@example.org")
        thread = threading.Thread(target=go)
        thread.start()
        return thread

    spend(2, 0).join()
    other_process = spend(1, 0.6)  # slots freed at 1.0 s are gone again until 1.6 s
    found: dict[str, object] = {}

    def page(contact: Contact, at: float) -> None:
        time.sleep(at)
        new_unit_of_work()
        with calls_under(PAGE):
            try:
                found[contact.ref] = adapter.read_profile(contact, [], ITEMS)
            except CrmError as exc:
                found[contact.ref] = exc

    pages = [threading.Thread(target=page, args=(first, 0.05)),
             threading.Thread(target=page, args=(late, 0.8))]
    for thread in pages:
        thread.start()
    for thread in [*pages, other_process]:
        thread.join(10)
    assert isinstance(found[first.ref], Profile) and isinstance(found[late.ref], Profile), found
    assert server.rate_limited == 0
