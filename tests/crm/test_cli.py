"""`portal fields` and `portal doctor` against the ActiveCampaign and Mautic fakes."""

from __future__ import annotations

import socket
import tomllib
from datetime import UTC, datetime

import pytest
from flask import Flask

from portal.commands import init_app as register_commands
from portal.config import ConfigError, load_config
from tests.crm.harnesses import ActiveCampaignHarness, MauticHarness

LABEL = '{ es = "X", eu = "X", en = "X" }'


TAG_ITEM = f"""
  [[groups.items]]
  key = "vip"
  kind = "tag"
  ref = "vip"
  label = {LABEL}
"""


def config_text(crm_block: str, fields: str = "", items: str = TAG_ITEM, portal: str = "") -> str:
    return f"""
[portal]
crm = "main"
public_url = "https://portal.example.org"
{portal}

[crm.main]
{crm_block}

{fields}

[[groups]]
key = "news"
label = {LABEL}
{items}
"""


def app_for(tmp_path, text: str) -> Flask:
    path = tmp_path / "portal.toml"
    path.write_text(text, encoding="utf-8")
    app = Flask("cli-test", instance_path=str(tmp_path / "instance"))
    app.config["PORTAL"] = load_config(path)
    register_commands(app)
    return app


@pytest.fixture
def ac(tmp_path, monkeypatch):
    harness = ActiveCampaignHarness()
    harness.start(tmp_path)
    monkeypatch.setenv("PORTAL_CRM_MAIN_API_TOKEN", harness.state.token)
    yield harness
    harness.stop()


def ac_block(ac) -> str:
    return f'type = "activecampaign"\nbase_url = "{ac.server.url}"'


def good_config(ac) -> str:
    fields = f"""
[[fields]]
key = "first_name"
crm_field = "firstName"
type = "text"
label = {LABEL}

[[fields]]
key = "interest"
crm_field = "{ac.ids["select"]}"
type = "select"
label = {LABEL}
choices = ["news", "events"]
"""
    items = f"""
  [[groups.items]]
  key = "weekly"
  kind = "list"
  ref = "{ac.lists[0]}"
  label = {LABEL}
  on_subscribe = {{ automations = ["{ac.welcome}"] }}

  [[groups.items]]
  key = "vip"
  kind = "tag"
  ref = "vip"
  label = {LABEL}
"""
    return config_text(ac_block(ac), fields, items)


def test_doctor_passes_a_good_setup(ac, tmp_path):
    result = app_for(tmp_path, good_config(ac)).test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 0, result.output
    assert "ok    DNS: 127.0.0.1" in result.output
    assert "ok    TCP: connected to 127.0.0.1" in result.output
    assert "ok    credentials and permissions" in result.output
    assert 'field "interest"' in result.output
    assert "FAIL" not in result.output


def test_doctor_names_a_missing_field_a_wrong_type_and_a_missing_list(ac, tmp_path):
    fields = f"""
[[fields]]
key = "shoe_size"
crm_field = "9999"
type = "text"
label = {LABEL}

[[fields]]
key = "topics"
crm_field = "{ac.ids["multiselect"]}"
type = "date"
label = {LABEL}
"""
    items = f"""
  [[groups.items]]
  key = "gone"
  kind = "list"
  ref = "424242"
  label = {LABEL}

  [[groups.items]]
  key = "seg"
  kind = "segment"
  ref = "1"
  label = {LABEL}
"""
    portal = 'last_changed_field = "portal_last_changed"'
    text = config_text(ac_block(ac), fields, items, portal)
    result = app_for(tmp_path, text).test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 1
    out = result.output
    assert 'FAIL  field "shoe_size" (crm_field = "9999"): not in the CRM' in out
    assert "the CRM field is listbox, the configuration says date" in out
    assert "change type to multiselect" in out
    assert 'FAIL  item "gone" (list 424242): not in the CRM' in out
    assert "activecampaign has no segments" in out and "use kind = one of: list, tag" in out
    assert 'portal.last_changed_field = "portal_last_changed": not in the CRM' in out


def test_doctor_says_which_setting_holds_bad_credentials(ac, tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_CRM_MAIN_API_TOKEN", "wrong-token-5678")
    result = app_for(tmp_path, good_config(ac)).test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "FAIL  credentials and permissions" in result.output
    assert "PORTAL_CRM_MAIN_API_TOKEN" in result.output
    assert "wrong-token-5678" not in result.output


def test_doctor_names_a_missing_secret(ac, tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_CRM_MAIN_API_TOKEN")
    result = app_for(tmp_path, good_config(ac)).test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "needs the environment variable PORTAL_CRM_MAIN_API_TOKEN" in result.output


def test_doctor_explains_a_blocked_connection(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_CRM_MAIN_API_TOKEN", "x" * 20)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    text = config_text(f'type = "activecampaign"\nbase_url = "http://127.0.0.1:{port}"')
    result = app_for(tmp_path, text).test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 1
    assert f"FAIL  TCP: cannot connect to 127.0.0.1:{port}" in result.output
    assert f"ask for 127.0.0.1:{port} to be allowed" in result.output
    assert "credentials" not in result.output  # it stops before asking the CRM


def test_doctor_explains_a_name_that_does_not_resolve(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_CRM_MAIN_API_TOKEN", "x" * 20)
    text = config_text('type = "activecampaign"\nbase_url = "https://crm.example.invalid"')
    result = app_for(tmp_path, text).test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "FAIL  DNS: crm.example.invalid does not resolve" in result.output
    assert "check the host in base_url" in result.output


def test_fields_lists_fields_choices_items_tags_and_automations(ac, tmp_path):
    ac.seed_contact("jane@example.org", modified=datetime(2026, 1, 1, tzinfo=UTC), tags=("vip",))
    result = app_for(tmp_path, good_config(ac)).test_cli_runner().invoke(args=["fields"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"  {ac.ids['select']}: Interest [dropdown -> select]" in out
    assert "choices: news (News), events (Events), offers (Offers)" in out
    assert f"  list {ac.lists[0]}: List 1" in out
    assert "Tags in use: vip" in out
    assert f"  {ac.welcome}: Welcome" in out


def test_a_starter_configuration_loads_as_a_valid_configuration(ac, tmp_path):
    app = app_for(tmp_path, good_config(ac))
    result = app.test_cli_runner().invoke(args=["fields", "--starter", "--pick", ac.ids["select"],
                                                "--pick", "firstName", "--pick", ac.lists[1]])
    assert result.exit_code == 0, result.output
    starter = tomllib.loads(result.output)
    assert [f["crm_field"] for f in starter["fields"]] == ["firstName", ac.ids["select"]]
    assert starter["fields"][1]["type"] == "select"
    assert [i["ref"] for i in starter["groups"][0]["items"]] == [ac.lists[1]]
    whole = tmp_path / "starter.toml"
    # Marketing writes the texts the starter leaves flagged; until then check-config says so.
    whole.write_text(f"[portal]\ncrm = \"main\"\npublic_url = \"https://portal.example.org\"\n[crm.main]\n{ac_block(ac)}\n\n{result.output}")
    with pytest.raises(ConfigError, match=r"fields\[0\]\.label: has no text for es, eu"):
        load_config(whole)
    translated = result.output.replace('es = ""', 'es = "Testua"').replace('eu = ""', 'eu = "Testua"')
    whole.write_text(f"[portal]\ncrm = \"main\"\npublic_url = \"https://portal.example.org\"\n[crm.main]\n{ac_block(ac)}\n\n{translated}")
    assert len(load_config(whole).fields) == 2


def test_doctor_checks_a_mautic_instance_with_segments(tmp_path, monkeypatch):
    harness = MauticHarness()
    harness.start(tmp_path)
    try:
        for key, value in harness.env().items():
            monkeypatch.setenv(key.replace("_TEST_", "_MAIN_"), value)
        items = f"""
  [[groups.items]]
  key = "s1"
  kind = "segment"
  ref = "{harness.segments[0]}"
  label = {LABEL}
"""
        block = (f'type = "mautic"\nbase_url = "{harness.server.url}"\n'
                 f'username = "{harness.state.username}"')
        fields = f'[[fields]]\nkey = "topics"\ncrm_field = "topics"\ntype = "multiselect"\n' \
                 f'label = {LABEL}\nchoices = ["news", "nope"]\n'
        result = app_for(tmp_path, config_text(block, fields, items)).test_cli_runner().invoke(
            args=["doctor"])
        assert f'ok    item "s1" (segment {harness.segments[0]}): Segment 1' in result.output
        assert "but the CRM has no option nope" in result.output
        assert result.exit_code == 1
    finally:
        harness.stop()


@pytest.mark.parametrize("command", ["doctor", "fields"])
def test_doctor_and_fields_keep_to_the_crms_rate_limit(ac, tmp_path, command):
    ac.server.faults.per_second = 5  # as ActiveCampaign documents
    result = app_for(tmp_path, good_config(ac)).test_cli_runner().invoke(args=[command])
    assert result.exit_code == 0, result.output
    assert ac.server.rate_limited == 0
