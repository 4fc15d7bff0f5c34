"""Zoho CRM beyond the conformance suite: data centres, the api_domain of the
token answer, 204 on search, credits, token expiry and revocation."""

from __future__ import annotations

import json

import pytest

from portal.config import ConfigError, load_config
from portal.crm import build_adapter
from portal.crm.base import (
    Change,
    CrmAuthError,
    CrmConfigError,
    CrmRateLimited,
    CrmValidationError,
    ItemRef,
)
from tests.fakes import zoho as fake
from tests.fakes.server import FakeServer
from tests.support.config import demo_config


@pytest.fixture
def zoho():
    server, state = fake.start()
    yield server, state
    server.stop()


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("PORTAL_CRM_Z_CLIENT_SECRET", "client-secret")
    monkeypatch.setenv("PORTAL_CRM_Z_REFRESH_TOKEN", "refresh-1")


def adapter_for(server, tmp_path, **options):
    return build_adapter("z", {"type": "zoho", "accounts_url": server.url, "client_id": "client-id",
                               **options}, tmp_path)


def test_an_eu_account_uses_the_eu_accounts_server_and_api_host(tmp_path):
    adapter = build_adapter("z", {"type": "zoho", "data_centre": "eu", "client_id": "c",
                                  "redirect_uri": "https://portal.example.org/cb"}, tmp_path)
    assert adapter.endpoints() == ["https://accounts.zoho.eu/oauth/v2/token",
                                   "https://www.zohoapis.eu"]
    url, _ = adapter.tokens.authorization_url("https://portal.example.org/cb")
    assert url.startswith("https://accounts.zoho.eu/oauth/v2/auth?")
    assert "access_type=offline" in url and "prompt=consent" in url


def test_an_unknown_data_centre_is_a_configuration_error(tmp_path):
    with pytest.raises(CrmConfigError, match="data_centre"):
        build_adapter("z", {"type": "zoho", "data_centre": "mars"}, tmp_path)


def test_calls_go_to_the_api_domain_of_the_token_answer(tmp_path):
    accounts, accounts_state = fake.start()
    api_state = fake.build_state()
    api_state.tokens = accounts_state.tokens  # one Zoho account: its API accepts its tokens
    api = FakeServer(fake.create_app(api_state)).start()
    accounts_state.api_domain = api.url
    try:
        api_state.add_contact("jane@example.org")
        adapter = adapter_for(accounts, tmp_path)
        assert len(adapter.find_contacts("jane@example.org")) == 1
        assert [c.path for c in accounts.calls] == ["/oauth/v2/token"]
        assert [c.path for c in api.calls] == ["/crm/v8/Contacts/search"]
        assert api.calls[0].headers["Authorization"].startswith("Zoho-oauthtoken at-")
    finally:
        api.stop()
        accounts.stop()


def test_a_search_with_no_match_is_204_and_finds_nobody(zoho, tmp_path):
    server, _ = zoho
    adapter = adapter_for(server, tmp_path)
    assert adapter.find_contacts("nobody@example.org") == []
    search = server.calls_to("GET", "/crm/v8/Contacts/search")
    assert len(search) == 1 and search[0].query["email"] == "nobody@example.org"


def test_several_records_with_one_email_are_all_found(zoho, tmp_path):
    server, state = zoho
    refs = {state.add_contact("twin@example.org"), state.add_contact("Twin@example.org")}
    assert {c.ref for c in adapter_for(server, tmp_path).find_contacts("twin@example.org")} == refs


def test_a_search_with_more_records_than_a_page_reads_every_page(zoho, tmp_path):
    server, state = zoho
    refs = {state.add_contact("many@example.org") for _ in range(201)}
    assert {c.ref for c in adapter_for(server, tmp_path).find_contacts("many@example.org")} == refs
    pages = [call.query["page"] for call in server.calls_to("GET", "/crm/v8/Contacts/search")]
    assert pages == ["1", "2"]


def test_spent_api_credits_are_rate_limiting(zoho, tmp_path):
    server, state = zoho
    adapter = adapter_for(server, tmp_path)
    adapter.find_contacts("jane@example.org")
    state.credits_exhausted = True
    with pytest.raises(CrmRateLimited, match="LIMIT_EXCEEDED") as caught:
        adapter.find_contacts("jane@example.org")
    assert caught.value.transient


def test_an_expired_token_is_refreshed_and_the_call_repeated(zoho, tmp_path):
    server, state = zoho
    state.add_contact("jane@example.org")
    adapter = adapter_for(server, tmp_path)
    assert adapter.find_contacts("jane@example.org")
    state.tokens.expire_all()
    assert adapter.find_contacts("jane@example.org")
    assert len(server.calls_to("POST", "/oauth/v2/token")) == 2


def test_a_revoked_refresh_token_says_to_authorize_again(zoho, tmp_path):
    server, state = zoho
    state.tokens.revoke_all_refresh_tokens()
    with pytest.raises(CrmAuthError, match=r"revoked: run `portal crm authorize z`"):
        adapter_for(server, tmp_path).find_contacts("jane@example.org")


def test_multi_select_options_are_written_as_a_json_array_with_the_trigger(zoho, tmp_path):
    server, state = zoho
    state.define_field("Topics", "Topics", "multiselectpicklist", ("news", "events", "offers"))
    ref = state.add_contact("jane@example.org", Topics=["news", "offers"])
    adapter = adapter_for(server, tmp_path)
    adapter.apply(Change(ref, "jane@example.org", join=(ItemRef("option", "Topics", "events"),),
                         leave=(ItemRef("option", "Topics", "offers"),), unsubscribe_all=True))
    assert state.writes[-1] == {"data": [{"Topics": ["news", "events"], "Email_Opt_Out": True}],
                                "trigger": ["workflow"]}
    assert state.contacts[ref]["Email_Opt_Out"] is True


def test_tags_items_use_the_tag_actions(zoho, tmp_path):
    server, state = zoho
    ref = state.add_contact("jane@example.org")
    state.tag(ref, "old")
    adapter = adapter_for(server, tmp_path)
    adapter.apply(Change(ref, "jane@example.org", join=(ItemRef("tag", "member"),),
                         remove_tags=("old",)))
    assert {t["name"] for t in state.contacts[ref]["Tag"]} == {"member"}
    assert server.calls_to("POST", f"/crm/v8/Contacts/{ref}/actions/add_tags")
    assert server.calls_to("POST", f"/crm/v8/Contacts/{ref}/actions/remove_tags")


def test_the_accounts_server_named_in_the_redirect_is_followed_only_if_it_is_zoho(tmp_path):
    adapter = build_adapter("z", {"type": "zoho", "client_id": "c"}, tmp_path)
    assert adapter.token_url_from_redirect({"accounts-server": "https://accounts.zoho.eu"}) == \
        "https://accounts.zoho.eu/oauth/v2/token"
    assert adapter.token_url_from_redirect({"accounts-server": "https://accounts.zoho.eu.evil.example"}) \
        is None
    assert adapter.token_url_from_redirect({"accounts-server": "http://accounts.zoho.eu"}) is None
    assert adapter.token_url_from_redirect({}) is None


def test_where_email_is_unique_creating_a_taken_email_returns_the_record_that_has_it(
        zoho, tmp_path):
    server, state = zoho
    state.unique_email = True
    taken = state.add_contact("miren@example.org", First_Name="Miren", Last_Name="Agirre")
    adapter = adapter_for(server, tmp_path)
    contact = adapter.create_contact("miren@example.org", "Someone Else")
    assert contact.ref == taken and contact.name == "Miren Agirre"
    assert len(state.contacts) == 1


def test_tag_actions_send_the_record_ids_and_over_write_in_the_body(zoho, tmp_path):
    server, state = zoho
    ref = state.add_contact("jane@example.org")
    state.tag(ref, "old")
    adapter_for(server, tmp_path).apply(Change(ref, "jane@example.org", add_tags=("member",),
                                               remove_tags=("old",)))
    added = json.loads(server.calls_to("POST", f"/crm/v8/Contacts/{ref}/actions/add_tags")[0].body)
    removed = json.loads(server.calls_to("POST", f"/crm/v8/Contacts/{ref}/actions/remove_tags")[0].body)
    assert added == {"tags": [{"name": "member"}], "over_write": False, "ids": [ref]}
    assert removed == {"tags": [{"name": "old"}], "ids": [ref]}
    assert not server.calls_to("POST", f"/crm/v8/Contacts/{ref}/actions/add_tags")[0].query


def test_a_tag_name_longer_than_zoho_takes_is_refused_by_the_fake_and_named_by_the_checks(
        zoho, tmp_path):
    server, state = zoho
    ref = state.add_contact("jane@example.org")
    long_name = "interested-in-every-weekend-event"  # 33 characters; Zoho takes 25
    with pytest.raises(CrmValidationError):
        adapter_for(server, tmp_path).apply(Change(ref, "jane@example.org", add_tags=(long_name,)))
    path = demo_config(tmp_path, replace={'type = "local"': 'type = "zoho"\nclient_id = "c"',
                                          '"welcome-weekly"': f'"{long_name}"'})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert any(long_name in p and "at most 25" in p for p in caught.value.problems)
    # The same file on a CRM without that limit is fine.
    load_config(demo_config(tmp_path, replace={'"welcome-weekly"': f'"{long_name}"'}))
