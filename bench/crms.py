"""The CRMs of the spike benchmark: each fake with its documented limits, the
portal's configuration for it, contacts seeded with newsletter tokens, and
a way to tell afterwards which saves reached the CRM.

The fakes and their seeding come from the conformance harnesses
(tests/crm/harnesses.py), so the benchmark drives the same fakes the tests
check against the vendors' documents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from portal.crm.base import Contact, CrmAdapter, FieldRef, ItemRef
from tests.crm.harnesses import CHOICES, ActiveCampaignHarness, Harness
from tests.crm.oauth_harnesses import HubSpotHarness, SalesforceHarness

LATENCY = 0.15  # seconds every fake takes to answer


@dataclass
class SpikeCrm:
    """One CRM as the benchmark uses it."""

    name: str
    harness: Harness
    token_field: str = ""
    limit: str = ""  # the documented limit, as the report shows it

    def start(self, folder: Path) -> None:
        self.harness.start(folder)
        self.token_field = self._add_token_field()

    def _add_token_field(self) -> str:
        raise NotImplementedError

    def set_token(self, ref: str, token: str) -> None:
        raise NotImplementedError

    def limit_requests(self) -> None:
        """Answer 429 past the CRM's documented rate, as the CRM does."""

    def fields(self) -> tuple[FieldRef, FieldRef]:
        roles = self.harness.fields()
        return roles["text"], roles["multiselect"]

    def items(self) -> list[ItemRef]:
        """Three items a visit ticks (two lists or types, and a tag or its stand-in)."""
        found = self.harness.items()
        return [found[0], found[1], found[-1]]

    def seed(self, contacts: int) -> list[str]:
        return [self.harness.seed_contact(f"contact{n}@example.org", modified=datetime.now(UTC),
                                          values={"text": f"C{n}"}) for n in range(contacts)]

    def env(self) -> dict[str, str]:
        return self.harness.env()

    def options(self) -> dict[str, Any]:
        return self.harness.options()

    def adapter(self, folder: Path) -> CrmAdapter:
        """An adapter of its own (no limiter), for checking the CRM after the run."""
        return self.harness.adapter(folder)

    def landed(self, folder: Path, refs: list[str]) -> set[str]:
        """The contacts whose saved first name is in the CRM."""
        server = self.harness.server
        assert server is not None
        server.faults.per_second, server.faults.latency = 0, 0.0
        adapter = self.adapter(folder)
        text = self.fields()[0]
        found: dict[str, Any] = {}
        for start in range(0, len(refs), 100):
            found.update(adapter.fetch_profiles([Contact(ref, "") for ref in refs[start:start + 100]],
                                                [text], []))
        return {ref for ref, profile in found.items()
                if not isinstance(profile, Exception) and profile.values.get(text.crm_field)
                == f"Bench{ref}"}

    def config_block(self) -> str:
        options = {key: value for key, value in self.options().items() if key != "base_url"}
        lines = [f"{key} = {json.dumps(value)}" for key, value in options.items()]
        return "\n".join([f'base_url = "{self.harness.server.url}"', *lines])  # type: ignore[union-attr]


class ActiveCampaignSpike(SpikeCrm):
    def _add_token_field(self) -> str:
        return str(self.harness.state.add_field("Portal token", "text"))  # type: ignore[attr-defined]

    def set_token(self, ref: str, token: str) -> None:
        self.harness.state.set_value(ref, self.token_field, token)  # type: ignore[attr-defined]

    def limit_requests(self) -> None:
        server = self.harness.server
        assert server is not None
        server.faults.per_second, server.faults.window = 5, 1.0  # 5 a second per account

    def items(self) -> list[ItemRef]:
        lists = [i for i in self.harness.items() if i.kind == "list"]
        return [lists[0], lists[1], ItemRef("tag", "volunteering")]


class HubSpotSpike(SpikeCrm):
    def _add_token_field(self) -> str:
        self.harness.state.define_property("portal_token", "Portal token")  # type: ignore[attr-defined]
        return "portal_token"

    def set_token(self, ref: str, token: str) -> None:
        self.harness.state.contacts[ref]["properties"]["portal_token"] = token  # type: ignore[attr-defined]

    def limit_requests(self) -> None:
        server = self.harness.server
        assert server is not None
        server.faults.per_second, server.faults.window = 100, 10.0  # 100 per 10 seconds

    def items(self) -> list[ItemRef]:
        # A subscription type, a list, and an option of the tags property (HubSpot's tags).
        return [ItemRef("subscription_type", "101"), ItemRef("list", "7"),
                ItemRef("option", "portal_tags", "member")]


class SalesforceSpike(SpikeCrm):
    def _add_token_field(self) -> str:
        self.harness.state.define_field("Portal_Token__c", "Portal token", "string")  # type: ignore[attr-defined]
        return "Portal_Token__c"

    def set_token(self, ref: str, token: str) -> None:
        for records in self.harness.state.records.values():  # type: ignore[attr-defined]
            if ref in records:
                records[ref]["Portal_Token__c"] = token

    def items(self) -> list[ItemRef]:
        found = self.harness.items()  # campaigns, a boolean field, a picklist option
        return [found[0], found[2], found[1]]


def spike_crm(name: str) -> SpikeCrm:
    if name == "activecampaign":
        return ActiveCampaignSpike(name, ActiveCampaignHarness(), limit="5 requests a second")
    if name == "hubspot":
        return HubSpotSpike(name, HubSpotHarness(), limit="100 requests per 10 seconds")
    if name == "salesforce":
        return SalesforceSpike(name, SalesforceHarness(),
                               limit="a daily allocation; no per-second rate")
    raise SystemExit(f"No CRM {name} in the benchmark.")


def portal_config(crm: SpikeCrm, storage_url: str, resilience: dict[str, Any]) -> str:
    text, multi = crm.fields()
    settings = "\n".join(f"{k} = {json.dumps(v)}" for k, v in resilience.items())
    items = "\n".join(f'''
  [[groups.items]]
  key = "item{n}"
  kind = "{item.kind}"
  ref = "{item.ref}"
  label = "Item {n}"''' + (f'\n  value = "{item.value}"' if item.value else "")
                      for n, item in enumerate(crm.items()))
    return f"""
[portal]
name = "Benchmark"
demo = true
languages = ["es", "eu", "en"]
default_language = "en"
crm = "main"
storage_url = "{storage_url}"
newsletter_token_field = "{crm.token_field}"
newsletter_may_edit_personal_data = true

[mail]
backends = ["file"]

[crm.main]
{crm.config_block()}

[resilience]
{settings}

[[fields]]
key = "first_name"
crm_field = "{text.crm_field}"
type = "text"
label = "First name"

[[fields]]
key = "topics"
crm_field = "{multi.crm_field}"
type = "multiselect"
label = "Topics"
choices = {json.dumps(list(CHOICES))}

[[groups]]
key = "news"
label = "News"
{items}
"""
