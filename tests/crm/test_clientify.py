"""Clientify specifics: the fuzzy search, "--" for empty, marketing status."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from portal.crm.base import Change, FieldRef, FieldUpdate
from tests.crm.harnesses import ClientifyHarness

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def cl(tmp_path, monkeypatch):
    harness = ClientifyHarness()
    harness.start(tmp_path)
    for key, value in harness.env().items():
        monkeypatch.setenv(key, value)
    yield harness
    harness.stop()


def test_the_fuzzy_search_is_narrowed_to_exact_addresses(cl, tmp_path):
    exact = cl.seed_contact("ane@example.org", modified=WHEN)
    cl.seed_contact("jane@example.org", modified=WHEN)
    cl.seed_contact("ane@example.org.es", modified=WHEN)
    adapter = cl.adapter(tmp_path)
    assert [c.ref for c in adapter.find_contacts("ane@example.org")] == [exact]
    assert cl.server.calls_to("GET", "/v1/contacts/")[-1].query["query"] == "ane@example.org"


def test_a_search_longer_than_a_page_is_read_page_by_page(cl, tmp_path):
    refs = {cl.seed_contact("ane@example.org", modified=WHEN) for _ in range(60)}
    adapter = cl.adapter(tmp_path)
    assert {c.ref for c in adapter.find_contacts("ane@example.org")} == refs
    calls = cl.server.calls_to("GET", "/v1/contacts/")
    assert [(c.query["query"], c.query.get("page", "1")) for c in calls] == [
        ("ane@example.org", "1"), ("ane@example.org", "2")]


def test_a_contact_found_by_its_second_address_reports_that_address(cl, tmp_path):
    ref = cl.seed_contact("work@example.org", modified=WHEN)
    cl.state.contacts[int(ref)]["emails"].append({"id": 1, "type": 2, "email": "home@example.org"})
    found = cl.adapter(tmp_path).find_contact("home@example.org")
    assert (found.ref, found.email) == (ref, "home@example.org")


def test_an_empty_custom_field_is_written_as_double_dash(cl, tmp_path):
    ref = cl.seed_contact("jane@example.org", modified=WHEN, values={"country": "ES"})
    cl.adapter(tmp_path).apply(Change(ref, "jane@example.org",
                                      fields=(FieldUpdate(cl.fields()["country"], None),)))
    body = json.loads(cl.server.calls_to("PUT", f"/v1/contacts/{ref}/")[-1].body)
    assert body == {"custom_fields": [{"field": "Country", "value": "--"}]}


def test_unsubscribe_from_all_sets_the_marketing_status(cl, tmp_path):
    adapter = cl.adapter(tmp_path)
    ref = cl.seed_contact("jane@example.org", modified=WHEN)
    adapter.apply(Change(ref, "jane@example.org", unsubscribe_all=True))
    assert cl.state.contacts[int(ref)]["marketing_status"] is False


def test_the_note_title_is_the_name_and_the_marker_ends_the_comment(cl, tmp_path):
    from portal.crm.base import Note

    ref = cl.seed_contact("jane@example.org", modified=WHEN)
    change = Change(ref, "jane@example.org", notes=(Note("From the portal", "Call me later."),))
    cl.adapter(tmp_path).apply(change)
    (note,) = cl.state.notes
    assert note["name"] == "From the portal"
    assert note["comment"].endswith(change.note_marker())
    assert "From the portal" not in note["comment"]


def test_an_email_change_replaces_the_address_the_contact_came_in_with(cl, tmp_path):
    ref = cl.seed_contact("work@example.org", modified=WHEN)
    emails = cl.state.contacts[int(ref)]["emails"]
    emails.append({"id": 9001, "type": 2, "email": "home@example.org"})
    adapter = cl.adapter(tmp_path)
    adapter.apply(Change(ref, "home@example.org",
                         fields=(FieldUpdate(FieldRef("email", "email"), "new.home@example.org"),)))
    assert [e["email"] for e in emails] == ["work@example.org", "new.home@example.org"]
    assert emails[1]["type"] == 2


def test_catalogues_are_read_past_the_first_page(tmp_path, monkeypatch):
    from tests.crm.harnesses import ClientifyHarness

    harness = ClientifyHarness()
    harness.start(tmp_path)
    for key, value in harness.env().items():
        monkeypatch.setenv(key, value)
    try:
        state = harness.state
        for n in range(450):
            state.custom_fields[f"extra{n}"] = {"id": 10_000 + n, "name": f"extra{n}",
                                                "field_type": "text", "content_type": "contact"}
            state.automations[20_000 + n] = f"Automation {n}"
        adapter = harness.adapter(tmp_path)
        assert "extra449" in {f.key for f in adapter.describe().fields}
        assert len(adapter.automations()) == len(state.automations)
    finally:
        harness.stop()
