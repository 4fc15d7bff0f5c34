"""ActiveCampaign specifics the conformance suite does not see: wire formats,
re-subscription, tag associations and the 5-a-second limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from portal.crm.base import Change, CrmConfigError, CrmRateLimited, FieldUpdate, ItemRef
from tests.crm.harnesses import ActiveCampaignHarness
from tests.fakes.activecampaign import DOCUMENTED_PER_SECOND

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def ac(tmp_path, monkeypatch):
    harness = ActiveCampaignHarness()
    harness.start(tmp_path)
    for key, value in harness.env().items():
        monkeypatch.setenv(key, value)
    yield harness
    harness.stop()


def test_multi_values_travel_in_activecampaigns_pipe_form(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    ref = ac.seed_contact("jane@example.org", modified=WHEN)
    fields = ac.fields()
    adapter.apply(Change(ref, "jane@example.org", fields=(
        FieldUpdate(fields["multiselect"], ["news", "offers"]),
        FieldUpdate(fields["checkbox"], True))))
    put = json.loads(ac.server.calls_to("PUT", "/api/3/contacts/")[-1].body)
    sent = {fv["field"]: fv["value"] for fv in put["contact"]["fieldValues"]}
    assert sent[ac.ids["multiselect"]] == "||news||offers||"
    assert sent[ac.ids["checkbox"]] == "||Yes||"


def test_rejoining_a_list_one_left_sends_the_resubscribe_source(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    ref = ac.seed_contact("jane@example.org", modified=WHEN)
    ac.state.subscribe(ref, ac.lists[0], 2)
    adapter.apply(Change(ref, "jane@example.org", join=(ItemRef("list", ac.lists[0]),)))
    body = json.loads(ac.server.calls_to("POST", "/api/3/contactLists")[-1].body)
    assert body["contactList"] == {"list": ac.lists[0], "contact": ref, "status": 1, "sourceid": 4}


def test_joining_a_list_already_joined_sends_nothing(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    ref = ac.seed_contact("jane@example.org", modified=WHEN, items=(ItemRef("list", ac.lists[0]),))
    adapter.apply(Change(ref, "jane@example.org", join=(ItemRef("list", ac.lists[0]),)))
    assert ac.server.calls_to("POST", "/api/3/contactLists") == []


def test_removing_a_tag_deletes_the_association_not_the_tag(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    ref = ac.seed_contact("jane@example.org", modified=WHEN, tags=("old-tag",))
    association = next(iter(ac.state.contact_tags))
    adapter.apply(Change(ref, "jane@example.org", remove_tags=("old-tag",)))
    assert [c.path for c in ac.server.calls_to("DELETE")] == [f"/api/3/contactTags/{association}"]
    assert "old-tag" in {t["tag"] for t in ac.state.tags.values()}


def test_unsubscribe_from_all_leaves_the_named_lists_and_no_other(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    ref = ac.seed_contact("jane@example.org", modified=WHEN,
                          items=tuple(ItemRef("list", lid) for lid in ac.lists))
    adapter.apply(Change(ref, "jane@example.org", unsubscribe_all=True,
                         leave=(ItemRef("list", ac.lists[0]),)))
    status = {cl["list"]: cl["status"] for cl in ac.state.contact_lists if cl["contact"] == ref}
    assert status == {ac.lists[0]: "2", ac.lists[1]: "1", ac.lists[2]: "1"}


def test_the_account_limit_of_five_a_second_is_answered_with_a_wait(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    ac.server.faults.per_second = DOCUMENTED_PER_SECOND
    with pytest.raises(CrmRateLimited) as caught:
        for _ in range(6):
            adapter.find_contacts("jane@example.org")
    assert caught.value.retry_after == 1.0


def test_the_base_url_may_include_the_api_path(ac, tmp_path):
    adapter = ac.adapter(tmp_path, base_url=f"{ac.server.url}/api/3/")
    assert adapter.find_contact("nobody@example.org") is None


def test_a_missing_base_url_says_where_to_find_it(ac, tmp_path):
    with pytest.raises(CrmConfigError, match="base_url"):
        ac.adapter(tmp_path, base_url="")


def test_a_missing_token_names_the_environment_variable(ac, tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_CRM_TEST_API_TOKEN")
    with pytest.raises(CrmConfigError, match="PORTAL_CRM_TEST_API_TOKEN"):
        ac.adapter(tmp_path)


def test_describe_lists_fields_with_choices_lists_and_tags(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    ac.seed_contact("jane@example.org", modified=WHEN, tags=("vip",))
    catalog = adapter.describe()
    by_key = {f.key: f for f in catalog.fields}
    assert by_key[ac.ids["select"]].portal_type == "select"
    assert [c[0] for c in by_key[ac.ids["select"]].choices] == ["news", "events", "offers"]
    assert by_key[ac.ids["checkbox"]].portal_type == "checkbox"
    assert by_key["phone"].portal_type == "tel"
    assert {i.item for i in catalog.items} >= {ItemRef("list", lid) for lid in ac.lists}
    assert "vip" in catalog.tags
