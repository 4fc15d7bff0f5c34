"""Changes of many contacts waiting in the queue reach a CRM with bulk
endpoints together: one call per kind of write for all of them, each entry
settled from its own record's result, none applied twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask

from portal.config.resilience import Resilience
from portal.crm import build_adapter
from portal.crm.base import Change, FieldRef, FieldUpdate, ItemRef, Note
from portal.db.engine import Database
from portal.db.migrate import upgrade
from portal.delivery.cache import ProfileCache, build_cache
from portal.delivery.ledger import FAILED, Ledger, new_entry
from portal.delivery.writer import Writer
from tests.fakes import hubspot as fake
from tests.support.config import STRONG_KEY


@pytest.fixture
def hub(monkeypatch):
    server, state = fake.start()
    monkeypatch.setenv("PORTAL_CRM_HS_PRIVATE_APP_TOKEN", "pat-eu1-test")
    yield server, state
    server.stop()


def writer_for(server, tmp_path, name: str = "hs", kind: str = "hubspot",
               database: Database | None = None) -> tuple[Writer, Ledger, list[str]]:
    """A writer on HubSpot's fake (or `kind`'s), its ledger in `database`
    (default: a fresh SQLite file) and the ids it woke."""
    settings = Resilience(cache="none")
    app = Flask("bulk")
    if database is None:
        database = Database(f"sqlite:///{tmp_path / 'portal.sqlite3'}")
        upgrade(database)
    ledger = Ledger(database, STRONG_KEY)
    woken: list[str] = []
    crm = build_adapter(name, {"type": kind, "base_url": server.url}, tmp_path)
    writer = Writer(crm, ledger=ledger, wake=lambda entry_id, when: woken.append(entry_id),
                    profiles=ProfileCache(build_cache(app, settings), settings))
    return writer, ledger, woken


def change(ref: str, n: int, name: str) -> Change:
    return Change(ref, f"c{n}@example.org", fields=(FieldUpdate(FieldRef("firstname"), name),),
                  join=(ItemRef("list", "7"), ItemRef("subscription_type", "101")),
                  notes=(Note("Changes from the preference portal", f"Name: {name}"),))


def test_queued_changes_of_many_contacts_land_in_a_few_calls_each_once(hub, tmp_path):
    server, state = hub
    writer, ledger, _ = writer_for(server, tmp_path)
    refs = [state.add_contact(f"c{n}@example.org") for n in range(60)]
    entries = [new_entry("hs", change(ref, n, f"Bulk{n}"), 3600) for n, ref in enumerate(refs)]
    later = new_entry("hs", change(refs[0], 0, "Later"), 3600)  # the same contact, after
    refused = new_entry("hs", Change(refs[1], "c1@example.org", fields=(
        FieldUpdate(FieldRef("interest"), "not-an-option"),)), 3600)
    for entry in [*entries, later, refused]:
        ledger.add([entry])
    server.calls.clear()
    writer.deliver(entries[0].id)
    assert len(server.calls) == 4  # properties, the list, the v4 states, the notes
    left = {e.id: e for e in ledger.entries()}
    assert set(left) == {later.id, refused.id}  # each contact's older change went first
    assert all(state.contacts[ref]["properties"]["firstname"] == f"Bulk{n}"
               for n, ref in enumerate(refs))
    assert all(len(state.notes_of(ref)) == 1 for ref in refs)
    for entry in (later, refused):
        writer.deliver(entry.id)
    assert state.contacts[refs[0]]["properties"]["firstname"] == "Later"
    assert [e.status for e in ledger.entries()] == [FAILED]  # refused by HubSpot, kept for an operator
    assert "interest" in ledger.entries()[0].last_error  # the CRM names what it refused


def test_a_bulk_write_the_crm_did_not_answer_is_tried_again_for_every_entry(hub, tmp_path):
    server, state = hub
    writer, ledger, woken = writer_for(server, tmp_path)
    refs = [state.add_contact(f"c{n}@example.org") for n in range(5)]
    entries = [new_entry("hs", change(ref, n, f"Bulk{n}"), 3600) for n, ref in enumerate(refs)]
    for entry in entries:
        ledger.add([entry])
    server.faults.fail_next = 1  # the first write answers 500
    writer.deliver(entries[0].id)
    assert {e.id for e in ledger.entries()} == {e.id for e in entries}
    assert all(e.attempts == 1 for e in ledger.entries())
    assert set(woken) == {e.id for e in entries}


def test_a_later_change_woken_first_waits_for_its_contacts_older_one(hub, tmp_path):
    server, state = hub
    writer, ledger, _ = writer_for(server, tmp_path)
    ref = state.add_contact("c0@example.org")
    older = new_entry("hs", change(ref, 0, "First"), 3600)
    ledger.add([older])
    newer = new_entry("hs", change(ref, 0, "Second"), 3600)
    ledger.add([newer])
    other = new_entry("hs", change(state.add_contact("c1@example.org"), 1, "Other"), 3600)
    ledger.add([other])  # a companion a bulk write could take along
    writer.deliver(newer.id)  # its wake-up came first
    assert older.id in {e.id for e in ledger.entries()}
    assert newer.id in {e.id for e in ledger.entries()}
    writer.deliver(older.id)
    writer.deliver(newer.id)
    assert state.contacts[ref]["properties"]["firstname"] == "Second"


def test_queued_saves_of_many_activecampaign_contacts_land_through_one_import(ac, tmp_path):
    server, state, weekly = ac.server, ac.state, ac.weekly
    writer, ledger, _ = writer_for(server, tmp_path, "main", "activecampaign")
    refs = [state.add_contact(f"c{n}@example.org", datetime(2026, 1, 1, tzinfo=UTC))
            for n in range(12)]
    entries = [new_entry("main", Change(
        ref, f"c{n}@example.org", fields=(FieldUpdate(FieldRef("firstName"), f"Bulk{n}"),),
        join=(ItemRef("list", weekly), ItemRef("tag", "member")),
        notes=(Note("Changes from the preference portal", f"Name: Bulk{n}"),)), 3600)
        for n, ref in enumerate(refs)]
    for entry in entries:
        ledger.add([entry])
    server.calls.clear()
    writer.deliver(entries[0].id)
    assert ledger.entries() == []  # every entry settled from its own record
    polls = len(server.calls_to("GET", "/api/3/import/info"))
    # Their emails, one import for the names and tags of all, then per contact
    # its list and its note.
    assert len(server.calls_to("POST", "/api/3/import/bulk_import")) == 1
    assert len(server.calls) == 1 + 1 + polls + 12 + 12
    for n, ref in enumerate(refs):
        assert state.contacts[ref]["firstName"] == f"Bulk{n}"
        assert state.tags_of(ref) == {"member"} and len(state.notes_of(ref)) == 1

