"""Mautic specifics: Do Not Contact, blank overwrites, -tag removal, OAuth2."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from portal.crm.base import Change, FieldUpdate
from tests.crm.harnesses import MauticHarness

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["basic", "oauth2"])
def mautic(request, tmp_path, monkeypatch):
    harness = MauticHarness(auth=request.param)
    harness.start(tmp_path)
    for key, value in harness.env().items():
        monkeypatch.setenv(key, value)
    yield harness
    harness.stop()


def test_unsubscribe_from_all_is_an_email_do_not_contact(mautic, tmp_path):
    adapter = mautic.adapter(tmp_path)
    ref = mautic.seed_contact("jane@example.org", modified=WHEN)
    adapter.apply(Change(ref, "jane@example.org", unsubscribe_all=True))
    (dnc,) = mautic.state.contacts[int(ref)]["dnc"]
    assert (dnc["channel"], dnc["reason"]) == ("email", 1)
    adapter.apply(Change(ref, "jane@example.org", unsubscribe_all=False))
    assert mautic.state.contacts[int(ref)]["dnc"] == []


def test_a_bounce_is_not_lifted_by_a_resubscribe(mautic, tmp_path):
    adapter = mautic.adapter(tmp_path)
    ref = mautic.seed_contact("jane@example.org", modified=WHEN)
    mautic.state.contacts[int(ref)]["dnc"] = [{"id": 1, "reason": 2, "comments": "bounced",
                                               "channel": "email", "channelId": None}]
    adapter.apply(Change(ref, "jane@example.org", unsubscribe_all=False))
    assert mautic.state.contacts[int(ref)]["dnc"][0]["reason"] == 2
    assert mautic.server.calls_to("POST", f"/api/contacts/{ref}/dnc") == []


def test_fields_and_tags_go_in_one_patch_with_minus_for_removal(mautic, tmp_path):
    adapter = mautic.adapter(tmp_path)
    ref = mautic.seed_contact("jane@example.org", modified=WHEN, values={"text": "Jim"},
                              tags=("old",))
    fields = mautic.fields()
    adapter.apply(Change(ref, "jane@example.org", fields=(FieldUpdate(fields["text"], None),
                                                          FieldUpdate(fields["multiselect"],
                                                                      ["news", "events"])),
                         add_tags=("new",), remove_tags=("old",)))
    (patch,) = mautic.server.calls_to("PATCH")
    body = json.loads(patch.body)
    assert body == {"firstname": "", "topics": "news|events", "overwriteWithBlank": True,
                    "tags": ["new", "-old"]}
    assert mautic.tags(ref) == {"new"}


def test_oauth2_gets_one_token_for_many_calls(mautic, tmp_path):
    if mautic.auth != "oauth2":
        pytest.skip("basic auth has no token")
    adapter = mautic.adapter(tmp_path)
    for _ in range(3):
        adapter.find_contact("jane@example.org")
    assert mautic.state.token_requests == 1
    api = mautic.server.calls_to("GET", "/api/")
    assert len(api) == 3
    assert all(c.headers["Authorization"].startswith("Bearer ") for c in api)


def test_an_empty_search_answer_as_a_list_finds_nobody(mautic, tmp_path):
    # PHP serialises an empty map as [], which the fake does too.
    assert mautic.adapter(tmp_path).find_contacts("nobody@example.org") == []


def test_describe_lists_aliases_types_choices_segments_and_tags(mautic, tmp_path):
    adapter = mautic.adapter(tmp_path)
    mautic.seed_contact("jane@example.org", modified=WHEN, tags=("vip",))
    catalog = adapter.describe()
    by_key = {f.key: f for f in catalog.fields}
    assert by_key["volunteer"].portal_type == "checkbox"
    assert [c[0] for c in by_key["topics"].choices] == ["news", "events", "offers"]
    assert {i.item.ref for i in catalog.items if i.item.kind == "segment"} == set(mautic.segments)
    assert "vip" in catalog.tags


def test_catalogues_are_read_past_the_first_page(mautic, tmp_path):
    state = mautic.state
    for n in range(600):  # more than the 500 a page once asked for
        state.add_field(f"extra{n}", f"Extra {n}", "text")
        state.add_segment(f"Segment {n}")
        state.add_campaign(f"Campaign {n}")
        state.tag_ids.setdefault(f"tag-{n}", len(state.tag_ids) + 1)
    adapter = mautic.adapter(tmp_path)
    catalog = adapter.describe()
    assert "extra599" in {f.key for f in catalog.fields}
    assert len([i for i in catalog.items if i.item.kind == "segment"]) == len(state.segments)
    assert "tag-599" in catalog.tags
    assert len(adapter.automations()) == len(state.campaigns)
