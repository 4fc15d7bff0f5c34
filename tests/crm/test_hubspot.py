"""HubSpot beyond the conformance suite: EU hosts, private-app tokens, the v4
calls (legal basis, unsubscribe from all), tags, options and the catalogue."""

from __future__ import annotations

import json

import pytest

from portal.crm import build_adapter
from portal.crm.base import (
    Change,
    Consent,
    CrmAuthError,
    CrmConfigError,
    CrmNotFound,
    CrmUnsupported,
    CrmValidationError,
    FieldRef,
    FieldUpdate,
    ItemRef,
    Note,
)
from portal.crm.calls import first_attempt
from tests.fakes import hubspot as fake


@pytest.fixture
def hub():
    server, state = fake.start()
    yield server, state
    server.stop()


def private_app(server, tmp_path, monkeypatch, **options):
    monkeypatch.setenv("PORTAL_CRM_HS_PRIVATE_APP_TOKEN", "pat-eu1-test")
    return build_adapter("hs", {"type": "hubspot", "base_url": server.url, **options}, tmp_path)


def test_eu_accounts_use_the_eu_hosts(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_CRM_HS_CLIENT_SECRET", "s")
    adapter = build_adapter("hs", {"type": "hubspot", "auth": "oauth", "region": "eu1",
                                   "client_id": "c"}, tmp_path)
    assert adapter.endpoints() == ["https://api-eu1.hubapi.com",
                                   "https://api-eu1.hubapi.com/oauth/v1/token"]
    url, _ = adapter.tokens.authorization_url("https://portal.example.org/cb")
    assert url.startswith("https://app-eu1.hubspot.com/oauth/authorize?")


def test_a_private_app_token_is_sent_as_bearer(hub, tmp_path, monkeypatch):
    server, state = hub
    state.add_contact("jane+news@example.org")
    adapter = private_app(server, tmp_path, monkeypatch)
    found = adapter.find_contacts("jane+news@example.org")
    assert [c.email for c in found] == ["jane+news@example.org"]
    call = server.calls_to("GET", "/crm/v3/objects/contacts/")[0]
    assert call.headers["Authorization"] == "Bearer pat-eu1-test"
    assert call.query["idProperty"] == "email"


def test_a_wrong_private_app_token_names_its_variable(hub, tmp_path, monkeypatch):
    server, _ = hub
    monkeypatch.setenv("PORTAL_CRM_HS_PRIVATE_APP_TOKEN", "pat-wrong-1234")
    adapter = build_adapter("hs", {"type": "hubspot", "base_url": server.url}, tmp_path)
    with pytest.raises(CrmAuthError, match="PORTAL_CRM_HS_PRIVATE_APP_TOKEN") as caught:
        adapter.find_contacts("jane@example.org")
    assert "pat-wrong-1234" not in str(caught.value)


def test_subscribing_sends_the_configured_legal_basis(hub, tmp_path, monkeypatch):
    server, state = hub
    ref = state.add_contact("jane@example.org")
    adapter = private_app(server, tmp_path, monkeypatch, legal_basis="LEGITIMATE_INTEREST_CLIENT",
                          legal_basis_explanation="Member of the association")
    adapter.apply(Change(ref, "jane@example.org", join=(ItemRef("subscription_type", "102"),)))
    calls = server.calls_to("POST", "/communication-preferences/v4/statuses/batch/write")
    assert json.loads(calls[0].body) == {"inputs": [{
        "subscriberIdString": "jane@example.org", "channel": "EMAIL", "subscriptionId": 102,
        "statusState": "SUBSCRIBED", "legalBasis": "LEGITIMATE_INTEREST_CLIENT",
        "legalBasisExplanation": "Member of the association"}]}
    assert state.statuses[("jane@example.org", 102)]["status"] == "SUBSCRIBED"


def test_an_unknown_legal_basis_is_a_configuration_error(tmp_path):
    with pytest.raises(CrmConfigError, match="legal_basis"):
        build_adapter("hs", {"type": "hubspot", "legal_basis": "BECAUSE"}, tmp_path)


def test_unsubscribe_from_all_leaves_the_named_types_and_no_other(hub, tmp_path, monkeypatch):
    server, state = hub
    ref = state.add_contact("jane@example.org")
    for type_id in (101, 102):
        state.statuses[("jane@example.org", type_id)] = {"status": "SUBSCRIBED"}
    adapter = private_app(server, tmp_path, monkeypatch)
    adapter.apply(Change(ref, "jane@example.org", unsubscribe_all=True,
                         leave=(ItemRef("subscription_type", "101"),)))
    # HubSpot's unsubscribe-all would end type 102 too, which the change does not name.
    assert not [c for c in server.calls if c.path.endswith("unsubscribe-all")]
    assert state.statuses[("jane@example.org", 101)]["status"] == "UNSUBSCRIBED"
    assert state.statuses[("jane@example.org", 102)]["status"] == "SUBSCRIBED"


def test_lifting_an_opt_out_needs_a_type_to_subscribe(hub, tmp_path, monkeypatch):
    server, state = hub
    ref = state.add_contact("jane@example.org")
    state.opted_out.add("jane@example.org")
    adapter = private_app(server, tmp_path, monkeypatch)
    with pytest.raises(CrmValidationError, match="resubscribe_type"):
        adapter.apply(Change(ref, "jane@example.org", unsubscribe_all=False))
    # Choosing a type lifts it without any setting.
    adapter.apply(Change(ref, "jane@example.org", unsubscribe_all=False,
                         join=(ItemRef("subscription_type", "102"),)))
    assert "jane@example.org" not in state.opted_out


def test_without_a_tags_property_tags_are_unsupported(hub, tmp_path, monkeypatch):
    server, state = hub
    ref = state.add_contact("jane@example.org")
    adapter = private_app(server, tmp_path, monkeypatch)
    assert adapter.supports_tags is False
    with pytest.raises(CrmUnsupported, match="tags_property"):
        adapter.apply(Change(ref, "jane@example.org", add_tags=("vip",)))
    assert not server.calls_to("PATCH")


def test_options_of_a_checkbox_property_are_joined_and_left_one_by_one(hub, tmp_path, monkeypatch):
    server, state = hub
    ref = state.add_contact("jane@example.org", topics="news;offers")
    adapter = private_app(server, tmp_path, monkeypatch)
    adapter.apply(Change(ref, "jane@example.org", join=(ItemRef("option", "topics", "events"),),
                         leave=(ItemRef("option", "topics", "offers"),)))
    assert state.contacts[ref]["properties"]["topics"] == "news;events"


def test_a_note_is_associated_to_the_contact_once(hub, tmp_path, monkeypatch):
    server, state = hub
    ref = state.add_contact("jane@example.org")
    adapter = private_app(server, tmp_path, monkeypatch)
    change = Change(ref, "jane@example.org", notes=(Note("From the portal", "Call <me> later"),))
    adapter.apply(change)
    adapter.apply(change)
    notes = state.notes_of(ref)
    assert len(notes) == 1
    assert "Call &lt;me&gt; later" in notes[0]["properties"]["hs_note_body"]
    assert change.note_marker() in notes[0]["properties"]["hs_note_body"]


def test_the_catalogue_lists_types_lists_and_options(hub, tmp_path, monkeypatch):
    server, state = hub
    state.lists["9"] = {"name": "Everyone", "processingType": "DYNAMIC", "members": set()}
    catalog = private_app(server, tmp_path, monkeypatch).describe()
    items = {i.item: i.label for i in catalog.items}
    assert items[ItemRef("subscription_type", "101")] == "Monthly newsletter"
    assert items[ItemRef("list", "7")] == "Volunteers"
    assert ItemRef("list", "9") not in items  # dynamic lists cannot be joined
    assert items[ItemRef("option", "topics", "events")] == "Topics: Events"
    kinds = {f.key: f.portal_type for f in catalog.fields}
    assert kinds["topics"] == "multiselect" and kinds["newsletter_ok"] == "checkbox"
    assert kinds["date_of_birth"] == "date" and kinds["email"] == "email"
    assert next(f for f in catalog.fields if f.key == "hs_email_optout").read_only


def test_without_the_lists_scopes_the_catalogue_has_no_lists(hub, tmp_path, monkeypatch):
    server, state = hub
    state.lists_scope = False
    kinds = {i.item.kind for i in private_app(server, tmp_path, monkeypatch).describe().items}
    assert kinds == {"subscription_type", "option"}


def test_an_expired_oauth_token_is_refreshed_on_the_way(hub, tmp_path, monkeypatch):
    server, state = hub
    state.private_app_token = None
    state.add_contact("jane@example.org")
    monkeypatch.setenv("PORTAL_CRM_HS_CLIENT_SECRET", "client-secret")
    monkeypatch.setenv("PORTAL_CRM_HS_REFRESH_TOKEN", "refresh-1")
    adapter = build_adapter("hs", {"type": "hubspot", "auth": "oauth", "base_url": server.url,
                                   "client_id": "client-id"}, tmp_path)
    assert adapter.find_contact("jane@example.org")
    state.tokens.expire_all()
    assert adapter.find_contact("jane@example.org")
    assert len(server.calls_to("POST", "/oauth/v1/token")) == 2


def test_doctor_says_hubspot_has_no_tags_when_the_configuration_asks_for_them(
        hub, tmp_path, monkeypatch):
    from dataclasses import replace

    from portal.config import LanguagePreference, load_config
    from portal.config.compatibility import check_catalog
    from tests.support.config import demo_config

    server, _ = hub
    config = load_config(demo_config(tmp_path))
    config = replace(config, portal=replace(config.portal,
                                            language_preference=LanguagePreference("tags")))
    findings = check_catalog(private_app(server, tmp_path, monkeypatch), config)
    failed = [f for f in findings if not f.ok and "language_preference" in f.what]
    assert len(failed) == 1 and "hubspot has no tags" in failed[0].what
    assert "docs/crm/hubspot.md" in failed[0].fix
    findings = check_catalog(private_app(server, tmp_path, monkeypatch,
                                         tags_property="topics"), config)
    assert not [f for f in findings if "language_preference" in f.what]


def test_doctor_says_hubspot_has_no_tags_for_a_members_only_portal(hub, tmp_path, monkeypatch):
    from portal.config import load_config
    from portal.config.compatibility import check_catalog
    from tests.support.config import demo_config

    server, _ = hub
    config = load_config(demo_config(tmp_path, append='[portal.audience]\ntags = ["member"]'))
    findings = check_catalog(private_app(server, tmp_path, monkeypatch), config)
    assert [f for f in findings if not f.ok and "portal.audience" in f.what]


@pytest.mark.parametrize(("configured", "basis", "sent"), [
    ("CONSENT_WITH_NOTICE", "legitimate_interest", "LEGITIMATE_INTEREST_OTHER"),
    ("LEGITIMATE_INTEREST_CLIENT", "legitimate_interest", "LEGITIMATE_INTEREST_CLIENT"),
    ("LEGITIMATE_INTEREST_CLIENT", "consent", "CONSENT_WITH_NOTICE"),
    ("LEGITIMATE_INTEREST_CLIENT", "contract", "PERFORMANCE_OF_CONTRACT"),
    ("NON_GDPR", "public_task", "NON_GDPR"),  # HubSpot has no name for it: the configured one
])
def test_an_items_consent_record_is_kept_on_its_subscription_status(hub, tmp_path, monkeypatch,
                                                                    configured, basis, sent):
    server, state = hub
    ref = state.add_contact("jane@example.org")
    adapter = private_app(server, tmp_path, monkeypatch, legal_basis=configured)
    item = ItemRef("subscription_type", "101")
    record = "Joined in the preference portal through an emailed link; wording sha256:5e1f"
    change = Change(ref, "jane@example.org", join=(item,), consents=(Consent(item, basis, record),))
    adapter.apply(Change.from_json(change.to_json()))  # as the queue carries it
    kept = state.statuses[("jane@example.org", 101)]
    assert (kept["status"], kept["legalBasis"], kept["legalBasisExplanation"]) == \
        ("SUBSCRIBED", sent, record)


def test_the_catalogue_offers_contact_lists_from_every_page_only(hub, tmp_path, monkeypatch):
    server, state = hub
    for n in range(600):  # more than one page of 500
        state.lists[str(1000 + n)] = {"name": f"List {n}", "processingType": "MANUAL",
                                      "members": set()}
    state.lists["2000"] = {"name": "Big deals", "processingType": "MANUAL", "members": set(),
                           "objectTypeId": "0-3"}
    refs = {i.item.ref for i in private_app(server, tmp_path, monkeypatch).describe().items
            if i.item.kind == "list"}
    assert {"7", "8", "1000", "1599"} <= refs  # the last list sits on the second page
    assert "2000" not in refs  # a list of deals is no subscription of a contact
    searches = [json.loads(c.body) for c in server.calls if c.path == "/crm/v3/lists/search"]
    assert [s["offset"] for s in searches] == [0, 500]
    assert all(s["objectTypeId"] == "0-1" for s in searches)


def test_a_refused_list_search_leaves_the_rest_of_the_catalogue(hub, tmp_path, monkeypatch):
    server, _ = hub
    adapter = private_app(server, tmp_path, monkeypatch)
    server.faults.fail_status, server.faults.fail_next = 400, 0

    @server.app.before_request
    def refuse_list_searches():
        from flask import request as asked
        if asked.path == "/crm/v3/lists/search":
            return {"status": "error", "message": "bad search", "category": "VALIDATION_ERROR"}, 400
        return None

    catalog = adapter.describe()
    kinds = {i.item.kind for i in catalog.items}
    assert kinds == {"subscription_type", "option"}
    assert any(f.key == "topics" for f in catalog.fields)


def test_several_contacts_are_read_in_the_calls_of_one(hub, tmp_path, monkeypatch):
    server, state = hub
    adapter = private_app(server, tmp_path, monkeypatch)
    refs = [state.add_contact(f"c{n}@example.org", firstname=f"C{n}") for n in range(30)]
    state.lists["7"]["members"].add(refs[3])
    items = [ItemRef("list", "7"), ItemRef("subscription_type", "101")]
    contacts = [adapter.find_contact(f"c{n}@example.org") for n in range(30)]
    before = adapter.http.calls
    found = adapter.fetch_profiles([*contacts, contacts[0].__class__("999999", "")], [], items)
    assert adapter.http.calls - before == adapter.read_cost([], items) == 3
    assert found[refs[3]].subscribed == {ItemRef("list", "7")}
    assert found[refs[4]].subscribed == frozenset()
    assert found["999999"].__class__.__name__ == "CrmNotFound"


def test_changes_of_many_contacts_go_in_one_call_per_kind_of_write(hub, tmp_path, monkeypatch):
    server, state = hub
    adapter = private_app(server, tmp_path, monkeypatch)
    refs = [state.add_contact(f"c{n}@example.org") for n in range(40)]
    changes = [Change(ref, f"c{n}@example.org",
                      fields=(FieldUpdate(FieldRef("firstname"), f"Name{n}"),),
                      join=(ItemRef("list", "7"), ItemRef("subscription_type", "101")),
                      notes=(Note("Changes from the preference portal", f"Name: Name{n}"),))
               for n, ref in enumerate(refs)]
    changes.append(Change("999999", "ghost@example.org",
                          fields=(FieldUpdate(FieldRef("firstname"), "Ghost"),)))
    server.calls.clear()
    with first_attempt():
        done = adapter.apply_many(changes)
    assert [c.path for c in server.calls] == [
        "/crm/v3/objects/contacts/batch/update", "/crm/v3/lists/7/memberships/add-and-remove",
        "/communication-preferences/v4/statuses/batch/write", "/crm/v3/objects/notes/batch/create"]
    assert [done[c.id] for c in changes[:-1]] == [None] * 40
    assert isinstance(done[changes[-1].id], CrmNotFound)
    assert state.contacts[refs[7]]["properties"]["firstname"] == "Name7"
    assert set(refs) <= state.lists["7"]["members"]
    assert state.statuses[("c7@example.org", 101)]["status"] == "SUBSCRIBED"
    assert len(state.notes_of(refs[7])) == 1
    with first_attempt(False):  # the queue's retry: nothing twice
        adapter.apply_many(changes[:3])
    assert len(state.notes_of(refs[0])) == 1
