"""Salesforce beyond the conformance suite: SOQL escaping, instance_url,
the pinned API version, REQUEST_LIMIT_EXCEEDED, session expiry, Leads,
campaigns and the JWT bearer grant."""

from __future__ import annotations

import pytest
from joserfc.jwk import RSAKey

from portal.crm import build_adapter
from portal.crm.base import (
    Change,
    CrmAuthError,
    CrmConfigError,
    CrmRateLimited,
    CrmUnsupported,
    FieldRef,
    FieldUpdate,
    ItemRef,
)
from portal.crm.salesforce import soql
from tests.fakes import salesforce as fake
from tests.fakes.server import FakeServer


@pytest.fixture
def org():
    server, state = fake.start()
    yield server, state
    server.stop()


def adapter_for(server, tmp_path, monkeypatch, **options):
    monkeypatch.setenv("PORTAL_CRM_SF_CLIENT_SECRET", "client-secret")
    return build_adapter("sf", {"type": "salesforce", "grant": "client_credentials",
                                "login_url": server.url, "client_id": "client-id", **options},
                         tmp_path)


def test_values_are_bound_as_escaped_literals():
    query = soql("SELECT {cols:name} FROM Contact WHERE Email = {email}",
                 cols=["Id", "Email"], email="x' OR Email != '\\")
    assert query == "SELECT Id, Email FROM Contact WHERE Email = 'x\\' OR Email != \\'\\\\'"
    with pytest.raises(CrmConfigError):
        soql("SELECT {cols:name} FROM Contact", cols=["Id FROM User --"])


def test_an_injection_attempt_finds_nobody(org, tmp_path, monkeypatch):
    server, state = org
    state.add("Contact", Email="jane@example.org", LastName="Doe")
    adapter = adapter_for(server, tmp_path, monkeypatch)
    assert adapter.find_contacts("x' OR Email != '") == []
    assert "Email = 'x\\' OR Email != \\''" in state.queries[-1]


def test_quotes_and_backslashes_in_an_email_still_match_exactly(org, tmp_path, monkeypatch):
    server, state = org
    ref = state.add("Contact", Email="o'brien\\x@example.org", LastName="O'Brien")
    adapter = adapter_for(server, tmp_path, monkeypatch)
    assert [c.ref for c in adapter.find_contacts("O'Brien\\x@example.org")] == [ref]


def test_a_field_name_from_configuration_cannot_smuggle_soql(org, tmp_path, monkeypatch):
    server, state = org
    ref = state.add("Contact", Email="jane@example.org", LastName="Doe")
    adapter = adapter_for(server, tmp_path, monkeypatch)
    contact = adapter.find_contact("jane@example.org")
    with pytest.raises(CrmConfigError, match="not a Salesforce field"):
        adapter.fetch_profile(contact, [FieldRef("Email FROM User WHERE Id != null --")], [])
    assert ref


def test_calls_go_to_the_instance_url_with_the_pinned_version(tmp_path, monkeypatch):
    login, login_state = fake.start()
    instance_state = fake.build_state()
    instance_state.tokens = login_state.tokens  # the org accepts what its login server issued
    instance = FakeServer(fake.create_app(instance_state)).start()
    login_state.tokens.extra = lambda: {"instance_url": instance.url}
    try:
        instance_state.add("Contact", Email="jane@example.org", LastName="Doe")
        adapter = adapter_for(login, tmp_path, monkeypatch, api_version="59.0")
        assert len(adapter.find_contacts("jane@example.org")) == 1
        assert [c.path for c in login.calls] == ["/services/oauth2/token"]
        assert [c.path for c in instance.calls] == ["/services/data/v59.0/query"]
    finally:
        instance.stop()
        login.stop()


def test_the_api_version_must_be_pinned_sensibly(tmp_path):
    with pytest.raises(CrmConfigError, match="api_version"):
        build_adapter("sf", {"type": "salesforce", "grant": "jwt_bearer", "api_version": "latest"},
                      tmp_path)


def test_the_daily_allocation_is_rate_limiting_not_forbidden(org, tmp_path, monkeypatch):
    server, state = org
    adapter = adapter_for(server, tmp_path, monkeypatch)
    adapter.find_contacts("jane@example.org")
    state.daily_limit_exceeded = True
    with pytest.raises(CrmRateLimited, match="REQUEST_LIMIT_EXCEEDED") as caught:
        adapter.find_contacts("jane@example.org")
    assert caught.value.transient


def test_an_expired_session_is_renewed_and_the_call_repeated(org, tmp_path, monkeypatch):
    server, state = org
    state.add("Contact", Email="jane@example.org", LastName="Doe")
    adapter = adapter_for(server, tmp_path, monkeypatch)
    assert adapter.find_contacts("jane@example.org")
    state.tokens.expire_all()
    assert adapter.find_contacts("jane@example.org")
    assert len(server.calls_to("POST", "/services/oauth2/token")) == 2


def test_leads_are_found_when_configured_and_converted_ones_are_not(org, tmp_path, monkeypatch):
    server, state = org
    contact = state.add("Contact", Email="jane@example.org", LastName="Doe")
    lead = state.add("Lead", Email="jane@example.org", LastName="Doe", IsConverted=False)
    state.add("Lead", Email="jane@example.org", LastName="Doe", IsConverted=True)
    adapter = adapter_for(server, tmp_path, monkeypatch, objects=["Contact", "Lead"])
    assert {c.ref for c in adapter.find_contacts("jane@example.org")} == {contact, lead}
    adapter.apply(Change(lead, "jane@example.org", unsubscribe_all=True,
                         fields=(FieldUpdate(FieldRef("FirstName"), "Jane"),)))
    assert state.records["Lead"][lead]["HasOptedOutOfEmail"] is True
    assert state.records["Lead"][lead]["FirstName"] == "Jane"


def test_joining_a_campaign_twice_makes_one_member(org, tmp_path, monkeypatch):
    server, state = org
    ref = state.add("Contact", Email="jane@example.org", LastName="Doe")
    campaign = state.add("Campaign", Name="Spring", IsActive=True)
    adapter = adapter_for(server, tmp_path, monkeypatch, campaign_status="Subscribed")
    change = Change(ref, "jane@example.org", join=(ItemRef("campaign", campaign),))
    adapter.apply(change)
    adapter.apply(change)
    members = list(state.records["CampaignMember"].values())
    assert [(m["CampaignId"], m["ContactId"], m["Status"]) for m in members] == \
        [(campaign, ref, "Subscribed")]


def test_the_jwt_bearer_grant_signs_with_the_private_key(org, tmp_path, monkeypatch):
    server, state = org
    key = RSAKey.generate_key(2048)
    state.tokens.jwt_key = RSAKey.import_key(key.as_pem(private=False))
    state.tokens.jwt_subject = "portal@example.org"
    state.add("Contact", Email="jane@example.org", LastName="Doe")
    monkeypatch.setenv("PORTAL_CRM_SF_PRIVATE_KEY", key.as_pem(private=True).decode())
    adapter = build_adapter("sf", {"type": "salesforce", "grant": "jwt_bearer",
                                   "login_url": server.url, "client_id": "client-id",
                                   "username": "portal@example.org"}, tmp_path)
    assert adapter.find_contacts("jane@example.org")
    assert state.tokens.grants_seen == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    # A user the connected app does not know is refused with the settings to check.
    other = build_adapter("sf2", {"type": "salesforce", "grant": "jwt_bearer",
                                  "login_url": server.url, "client_id": "client-id",
                                  "username": "someone@example.org"}, tmp_path)
    monkeypatch.setenv("PORTAL_CRM_SF2_PRIVATE_KEY", key.as_pem(private=True).decode())
    with pytest.raises(CrmAuthError, match="PORTAL_CRM_SF2_PRIVATE_KEY"):
        other.find_contacts("jane@example.org")


def test_the_catalogue_lists_boolean_fields_options_and_campaigns(org, tmp_path, monkeypatch):
    server, state = org
    state.define_field("Newsletter__c", "Newsletter", "boolean")
    state.define_field("Topics__c", "Topics", "multipicklist", ("news", "events"))
    campaign = state.add("Campaign", Name="Spring", IsActive=True)
    catalog = adapter_for(server, tmp_path, monkeypatch).describe()
    items = {i.item: i.label for i in catalog.items}
    assert items[ItemRef("field", "Newsletter__c")] == "Newsletter"
    assert items[ItemRef("option", "Topics__c", "news")] == "Topics: News"
    assert items[ItemRef("campaign", campaign)] == "Spring"
    assert ItemRef("field", "HasOptedOutOfEmail") not in items
    kinds = {f.key: f.portal_type for f in catalog.fields}
    assert kinds["Topics__c"] == "multiselect" and kinds["Birthdate"] == "date"


def test_a_result_in_several_batches_is_read_to_the_end(org, tmp_path, monkeypatch):
    server, state = org
    state.batch_size = 2
    names = [f"Campaign {n}" for n in range(5)]
    for name in names:
        state.add("Campaign", Name=name, IsActive=True)
    first = state.add("Contact", Email="twin@example.org", LastName="One")
    second = state.add("Contact", Email="twin@example.org", LastName="Two")
    third = state.add("Contact", Email="twin@example.org", LastName="Three")
    adapter = adapter_for(server, tmp_path, monkeypatch)
    campaigns = [i.label for i in adapter.describe().items if i.item.kind == "campaign"]
    assert campaigns == names
    assert {c.ref for c in adapter.find_contacts("twin@example.org")} == {first, second, third}
    assert any(q.startswith("more ") for q in state.queries)  # the locator was followed
    assert not state.cursors  # every batch was fetched


def test_a_duplicate_rule_that_blocks_a_taken_email_gives_back_the_record_that_has_it(
        org, tmp_path, monkeypatch):
    server, state = org
    state.duplicate_rule = True
    taken = state.add("Contact", Email="miren@example.org", FirstName="Miren", LastName="Agirre")
    adapter = adapter_for(server, tmp_path, monkeypatch)
    contact = adapter.create_contact("miren@example.org", "Someone Else")
    assert contact.ref == taken and contact.name == "Miren Agirre"
    assert len(state.records["Contact"]) == 1


def test_a_portal_set_to_leads_only_says_it_cannot_create_contacts(org, tmp_path, monkeypatch):
    server, state = org
    adapter = adapter_for(server, tmp_path, monkeypatch, objects=["Lead"])
    with pytest.raises(CrmUnsupported, match='add "Contact" to objects'):
        adapter.create_contact("miren@example.org", "Miren Agirre")
    assert not state.records["Lead"] and not state.records["Contact"]
