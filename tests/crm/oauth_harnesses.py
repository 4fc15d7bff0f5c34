"""Conformance harnesses for the OAuth2 CRMs: HubSpot, Zoho CRM and Salesforce.

Registered in tests/crm/harnesses.py like every other harness. Each one runs
its adapter through the fake token endpoint (refresh token or client
credentials), so every conformance test also crosses the token layer.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from portal.crm.base import FieldRef, FieldUpdate, ItemRef, Value
from tests.crm.harnesses import CHOICES, Harness

TAG_OPTIONS = ("portal-edit", "keep-tag", "old-tag", "member")


def _no_duplicates(name: str) -> None:
    pytest.skip(f"{name} keeps contact emails unique: duplicates cannot exist there")


# --- HubSpot -------------------------------------------------------------------------

HUBSPOT_ROLES = {"text": "firstname", "tel": "phone", "other": "lastname", "country": "country",
                 "select": "interest", "multiselect": "topics", "checkbox": "volunteer",
                 "date": "birthday"}


class HubSpotHarness(Harness):
    name = "hubspot"
    find_budget = 1  # GET contact by idProperty=email
    fetch_budget = 3  # the contact's properties + v4 statuses + list memberships
    global_opt_out = False  # HubSpot's unsubscribe-all ends every type: the portal never calls it

    def start(self, tmp_path: Path) -> None:
        from tests.fakes import hubspot as fake

        self.server, self.state = fake.start()
        st = self.state
        st.define_property("country", "Country", custom=False)
        st.define_property("interest", "Interest", "enumeration", "select", CHOICES)
        st.define_property("topics", "Topics", "enumeration", "checkbox", CHOICES)
        st.define_property("volunteer", "Volunteer", "bool", "booleancheckbox", ("true", "false"))
        st.define_property("birthday", "Birthday", "date", "date")
        st.define_property("interests", "Interests", "enumeration", "checkbox", ("a", "b"))
        st.define_property("portal_tags", "Portal tags", "enumeration", "checkbox", TAG_OPTIONS)

    def env(self, valid: bool = True) -> dict[str, str]:
        return {"PORTAL_CRM_TEST_CLIENT_SECRET": "client-secret" if valid else "wrong-secret-5678",
                "PORTAL_CRM_TEST_REFRESH_TOKEN": "refresh-1"}

    def options(self) -> dict[str, Any]:
        return {"type": "hubspot", "auth": "oauth", "base_url": self.server.url,
                "client_id": "client-id", "tags_property": "portal_tags",
                "resubscribe_type": "101"}

    def fields(self) -> dict[str, FieldRef]:
        return {role: FieldRef(prop, "text" if role == "other" else role)  # type: ignore[arg-type]
                for role, prop in HUBSPOT_ROLES.items()}

    def items(self) -> list[ItemRef]:
        return [ItemRef("subscription_type", "101"), ItemRef("list", "7"),
                ItemRef("subscription_type", "102"), ItemRef("option", "interests", "a")]

    def refused_update(self) -> FieldUpdate:
        return FieldUpdate(FieldRef("interest", "select"), "not-an-option")

    def seed_contact(self, email: str, *, modified: datetime,
                     values: Mapping[str, Value] | None = None,
                     items: tuple[ItemRef, ...] = (), tags: tuple[str, ...] = ()) -> str:
        st = self.state
        if st.find(email):
            _no_duplicates("HubSpot")
        props: dict[str, str] = {}
        for role, value in (values or {}).items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, list):
                value = ";".join(value)
            props[HUBSPOT_ROLES[role]] = value or ""
        stamp = modified.isoformat().replace("+00:00", "Z")
        ref = st.add_contact(email, updated=stamp, **props)
        for item in items:
            if item.kind == "subscription_type":
                st.statuses[(email.lower(), int(item.ref))] = {"status": "SUBSCRIBED"}
            elif item.kind == "list":
                st.lists[item.ref]["members"].add(ref)
            else:
                st.contacts[ref]["properties"][item.ref] = item.value or ""
        if tags:
            st.contacts[ref]["properties"]["portal_tags"] = ";".join(tags)
        return ref

    def tags(self, ref: str) -> set[str]:
        value = self.state.contacts[ref]["properties"].get("portal_tags") or ""
        return {t for t in value.split(";") if t}

    def notes(self, ref: str) -> list[str]:
        return [n["properties"]["hs_note_body"] for n in self.state.notes_of(ref)]


# --- Salesforce ----------------------------------------------------------------------

SALESFORCE_ROLES = {"text": "FirstName", "tel": "Phone", "other": "LastName",
                    "country": "MailingCountry", "select": "Interest__c",
                    "multiselect": "Topics__c", "checkbox": "Volunteer__c", "date": "Birthdate"}


class SalesforceHarness(Harness):
    name = "salesforce"
    email_field = "Email"
    duplicate_create = "second"  # duplicates are normal unless a duplicate rule blocks them
    last_name_required = True
    find_budget = 1  # one SOQL query on Contact
    fetch_budget = 1  # one SOQL query with the CampaignMembers subquery

    def start(self, tmp_path: Path) -> None:
        from tests.fakes import salesforce as fake

        self.server, self.state = fake.start()
        st = self.state
        st.define_field("Interest__c", "Interest", "picklist", CHOICES)
        st.define_field("Topics__c", "Topics", "multipicklist", CHOICES)
        st.define_field("Volunteer__c", "Volunteer", "boolean")
        st.define_field("Newsletter__c", "Newsletter", "boolean")
        st.define_field("Interests__c", "Interests", "multipicklist", ("a", "b"))
        st.define_field("Portal_Tags__c", "Portal tags", "multipicklist", TAG_OPTIONS)
        self.campaigns = [st.add("Campaign", Name=f"Campaign {n}", IsActive=True)
                          for n in (1, 2)]

    def env(self, valid: bool = True) -> dict[str, str]:
        return {"PORTAL_CRM_TEST_CLIENT_SECRET": "client-secret" if valid else "wrong-secret-5678"}

    def options(self) -> dict[str, Any]:
        return {"type": "salesforce", "grant": "client_credentials", "login_url": self.server.url,
                "client_id": "client-id", "api_version": "62.0", "tags_field": "Portal_Tags__c"}

    def fields(self) -> dict[str, FieldRef]:
        return {role: FieldRef(name, "text" if role == "other" else role)  # type: ignore[arg-type]
                for role, name in SALESFORCE_ROLES.items()}

    def items(self) -> list[ItemRef]:
        return [ItemRef("campaign", self.campaigns[0]), ItemRef("field", "Newsletter__c"),
                ItemRef("campaign", self.campaigns[1]), ItemRef("option", "Interests__c", "a")]

    def missing_ref(self) -> str:
        return "003999999999999AAA"

    def refused_update(self) -> FieldUpdate:
        return FieldUpdate(FieldRef("Interest__c", "select"), "not-an-option")

    def seed_contact(self, email: str, *, modified: datetime,
                     values: Mapping[str, Value] | None = None,
                     items: tuple[ItemRef, ...] = (), tags: tuple[str, ...] = ()) -> str:
        st = self.state
        record: dict[str, Any] = {"Email": email, "HasOptedOutOfEmail": False,
                                  "Volunteer__c": False, "Newsletter__c": False,
                                  "LastModifiedDate": modified.strftime("%Y-%m-%dT%H:%M:%S.000+0000")}
        for role, value in (values or {}).items():
            record[SALESFORCE_ROLES[role]] = ";".join(value) if isinstance(value, list) else value
        for item in items:
            if item.kind == "field":
                record[item.ref] = True
            elif item.kind == "option":
                record[item.ref] = item.value
        if tags:
            record["Portal_Tags__c"] = ";".join(tags)
        ref = st.add("Contact", **record)
        for item in items:
            if item.kind == "campaign":
                st.add("CampaignMember", CampaignId=item.ref, ContactId=ref, Status="Sent")
        return ref

    def tags(self, ref: str) -> set[str]:
        value = self.state.records["Contact"][ref].get("Portal_Tags__c") or ""
        return {t for t in value.split(";") if t}

    def notes(self, ref: str) -> list[str]:
        return [n["Title"] + "\n" + base64.b64decode(n["Content"]).decode()
                for n in self.state.notes_of(ref)]


# --- Zoho CRM -------------------------------------------------------------------------

ZOHO_ROLES = {"text": "First_Name", "tel": "Phone", "other": "Last_Name",
              "country": "Mailing_Country", "select": "Interest", "multiselect": "Topics",
              "checkbox": "Volunteer", "date": "Date_of_Birth"}


class ZohoHarness(Harness):
    name = "zoho"
    email_field = "Email"
    duplicate_create = "second"  # Email is not unique unless an administrator says so
    last_name_required = True
    find_budget = 1  # one search (204 when nobody matches)
    fetch_budget = 1  # one record GET with fields, Email_Opt_Out and Tag

    def start(self, tmp_path: Path) -> None:
        from tests.fakes import zoho as fake

        self.server, self.state = fake.start()
        st = self.state
        st.define_field("Mailing_Country", "Mailing Country", "text", custom=False)
        st.define_field("Interest", "Interest", "picklist", CHOICES)
        st.define_field("Topics", "Topics", "multiselectpicklist", CHOICES)
        st.define_field("Volunteer", "Volunteer", "boolean")
        st.define_field("Newsletter", "Newsletter", "boolean")
        st.define_field("Events", "Events", "boolean")
        st.define_field("Interests", "Interests", "multiselectpicklist", ("a", "b"))

    def env(self, valid: bool = True) -> dict[str, str]:
        return {"PORTAL_CRM_TEST_CLIENT_SECRET": "client-secret" if valid else "wrong-secret-5678",
                "PORTAL_CRM_TEST_REFRESH_TOKEN": "refresh-1"}

    def options(self) -> dict[str, Any]:
        return {"type": "zoho", "accounts_url": self.server.url, "client_id": "client-id"}

    def fields(self) -> dict[str, FieldRef]:
        return {role: FieldRef(name, "text" if role == "other" else role)  # type: ignore[arg-type]
                for role, name in ZOHO_ROLES.items()}

    def items(self) -> list[ItemRef]:
        return [ItemRef("field", "Newsletter"), ItemRef("option", "Interests", "a"),
                ItemRef("field", "Events"), ItemRef("tag", "member")]

    def missing_ref(self) -> str:
        return "5725767000000999999"

    def refused_update(self) -> FieldUpdate:
        return FieldUpdate(FieldRef("Interest", "select"), "not-an-option")

    def seed_contact(self, email: str, *, modified: datetime,
                     values: Mapping[str, Value] | None = None,
                     items: tuple[ItemRef, ...] = (), tags: tuple[str, ...] = ()) -> str:
        st = self.state
        record = {ZOHO_ROLES[role]: value for role, value in (values or {}).items()}
        for item in items:
            if item.kind == "field":
                record[item.ref] = True
            elif item.kind == "option":
                record[item.ref] = [item.value]
        ref = st.add_contact(email, modified=modified.isoformat(), **record)
        for name in (*tags, *(i.ref for i in items if i.kind == "tag")):
            st.tag(ref, name)
        return ref

    def tags(self, ref: str) -> set[str]:
        return {t["name"] for t in self.state.contacts[ref]["Tag"]}

    def notes(self, ref: str) -> list[str]:
        return [f"{n['Note_Title']}\n{n['Note_Content']}" for n in self.state.notes_of(ref)]
