"""HubSpot: CRM v3 contacts, properties, lists and notes, Communication Preferences v4.
Settings, secrets, items, `tags_property`, `resubscribe_type`: docs/crm/hubspot.md.
Reads and writes go through the batch endpoints, a call each for up to 100 contacts.

"Unsubscribe from all" leaves the subscription types the change names: HubSpot's
own unsubscribe-all would end types the portal does not show. Each state carries
the legal basis of the item's consent record, and an address's statuses move
with the contact when its email changes (hubspot_preferences)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import requests

from portal.crm import base, planning
from portal.crm.http import CrmHttp, ErrorFormat, choice_option, client_options, crm_reason
from portal.crm.hubspot_catalogue import CONTACTS, catalogue
from portal.crm.hubspot_preferences import (
    Basis,
    move_statuses,
    quoted,
    states_of,
    statuses_to_move,
    type_id,
)
from portal.crm.oauth import OAuthApp, TokenManager, signed

log = logging.getLogger(__name__)
LEGAL_BASES = ("CONSENT_WITH_NOTICE", "LEGITIMATE_INTEREST_CLIENT", "LEGITIMATE_INTEREST_OTHER",
               "LEGITIMATE_INTEREST_PQL", "NON_GDPR", "PERFORMANCE_OF_CONTRACT", "PROCESS_AND_STORE")
SCOPES = ("crm.objects.contacts.read crm.objects.contacts.write crm.schemas.contacts.read "
          "communication_preferences.read_write crm.lists.read crm.lists.write oauth")
OPT_OUT = "hs_email_optout"  # HubSpot's own "unsubscribed from all email" property
# HUBSPOT_DEFINED association type note → contact
NOTE_TO_CONTACT = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}
EXISTING_ID = re.compile(r"Existing ID: (\d+)")  # in the 409 that answers a taken email
OAUTH = OAuthApp(token_url="{api}/oauth/v1/token",  # noqa: S106 (an address, not a secret)
                 authorize_url="{app}/oauth/authorize", scopes=SCOPES)
# A 400 names the property; a batch's errors name their records in context.ids.
ERRORS = ErrorFormat("HubSpot", field=("context", "propertyName", 0), records=("context", "ids"),
                     missing=("category", "OBJECT_NOT_FOUND"))
# Every value is a string; a multiple checkbox's options are joined by ";".
VALUES = planning.TextValues(separator=";", ticked=frozenset({"true"}))


class HubSpotCrm(base.CrmAdapter):
    kind = "hubspot"
    default_rate = "100/10 seconds"  # the limit the CRM documents
    item_kinds = frozenset({"subscription_type", "list", "option"})
    supports_tags = False  # no tag concept on HubSpot contacts: use a checkbox property or lists

    def __init__(self, name: str, options: Mapping[str, Any], state_dir: Path) -> None:
        super().__init__(name, options, state_dir)
        region = self.options.get("region", "")
        suffix = f"-{region}" if region and region != "na1" else ""
        self.base_url = str(self.options.get("base_url", f"https://api{suffix}.hubapi.com")).rstrip("/")
        self.app_url = str(self.options.get("app_url", f"https://app{suffix}.hubspot.com")).rstrip("/")
        self.basis = Basis(choice_option(name, self.options, "legal_basis", LEGAL_BASES), str(
            self.options.get("legal_basis_explanation",
                             "The contact chose this in the preference portal.")))
        self.tags_property = str(self.options.get("tags_property", ""))
        self.supports_tags = bool(self.tags_property)  # type: ignore[misc]
        self.resubscribe_type = str(self.options.get("resubscribe_type", ""))
        self.tokens: TokenManager | None = None
        auth: requests.auth.AuthBase | None = None
        headers = {}
        if choice_option(name, self.options, "auth", ("private_app", "oauth")) == "oauth":
            self.tokens, auth = signed(self, OAUTH.client(
                self, {"api": self.base_url, "app": self.app_url},
                leeway=float(self.options.get("refresh_leeway", 300))))
            hint = f"the OAuth app of '{name}' (`portal crm authorize {name}`)"
        else:
            headers["Authorization"] = f"Bearer {self.secret('private_app_token')}"
            hint = self.secret_env_name("private_app_token")
        self.http = CrmHttp(name, self.base_url, auth=auth, headers=headers, errors=ERRORS,
                            credentials_hint=hint, **client_options(self.options))

    # reading ------------------------------------------------------------------

    def find_contacts(self, email: str) -> list[base.Contact]:
        # email is unique in HubSpot: idProperty=email finds the one contact, 404 means none.
        # HubSpot keeps emails in lower case; asking in lower case matches whatever was typed.
        try:
            body = self.http.json("GET", f"/crm/v3/objects/contacts/{quoted(email.strip().lower())}",
                                  params={"idProperty": "email", "properties": "email,firstname,lastname"})
        except base.CrmNotFound:
            return []
        return [self._contact(body)]

    batch_size = 100  # the batch read endpoints' documented maximum of inputs

    def fetch_profiles(self, contacts: Sequence[base.Contact], fields: Sequence[base.FieldRef],
                       items: Sequence[base.ItemRef]) -> dict[str, base.Profile | base.CrmError]:
        """The contacts' properties, v4 statuses and list memberships: one batch call each."""
        records = self._records([c.ref for c in contacts], planning.record_columns(
            (f.crm_field for f in fields), items, "email", "firstname", "lastname", OPT_OUT))
        kinds = {i.kind for i in items}
        emails = [(r.get("properties") or {}).get("email") or "" for r in records.values()]
        types = self._subscribed_types([e for e in emails if e]) \
            if "subscription_type" in kinds else {}
        lists = self._lists_of(list(records)) if "list" in kinds else {}

        def profile(record: Mapping[str, Any]) -> base.Profile:
            props = record.get("properties") or {}
            member = {"subscription_type": types.get((props.get("email") or "").lower(), set()),
                      "list": lists.get(str(record["id"]), set())}
            return planning.record_profile(self._contact(record), props, fields, items,
                                           _from_hubspot, OPT_OUT, planning.items_in(items, member))

        return planning.record_profiles(self, contacts, records, profile)

    def _records(self, refs: Sequence[str], names: Iterable[str]) -> dict[str, Any]:
        body = self.http.json("POST", "/crm/v3/objects/contacts/batch/read", json={
            "inputs": [{"id": ref} for ref in refs], "properties": sorted(names),
            "propertiesWithHistory": []})
        return {str(r["id"]): r for r in body.get("results", [])}

    def read_cost(self, fields: Sequence[base.FieldRef], items: Sequence[base.ItemRef]) -> int:
        # The contacts, plus their v4 statuses and list memberships when those items are asked.
        kinds = {i.kind for i in items}
        return 1 + ("subscription_type" in kinds) + ("list" in kinds)

    def _subscribed_types(self, emails: list[str]) -> dict[str, set[str]]:
        body = self.http.json("POST", "/communication-preferences/v4/statuses/batch/read",
                              params=self._channel(), json={"inputs": emails})
        return {str(r.get("subscriberIdString", "")).lower(): {
            str(s.get("subscriptionId")) for s in r.get("statuses", [])
            if s.get("status") == "SUBSCRIBED"} for r in body.get("results", [])}

    def _lists_of(self, contact_ids: list[str]) -> dict[str, set[str]]:
        body = self.http.json("POST", "/crm/v3/lists/records/memberships/batch/read", json={
            "inputs": [{"objectTypeId": CONTACTS, "recordId": i} for i in contact_ids]})
        return {str(r.get("recordId")): {str(m.get("listId")) for m in
                                         r.get("recordListMemberships", [])}
                for r in body.get("results", [])}

    def describe(self) -> base.Catalog:
        return catalogue(self.http, self.name, self.item_kinds)

    def check_access(self) -> None:
        self.http.json("GET", "/crm/v3/objects/contacts", params={"limit": 1, "properties": "email"})
        self.http.json("GET", "/communication-preferences/v4/definitions")

    def endpoints(self) -> list[str]:
        urls = [self.base_url]
        if self.tokens is not None:
            urls.append(self.tokens.client.token_url)
        return urls

    def create_contact(self, email: str, name: str = "") -> base.Contact:
        first, last = planning.split_name(name)
        answer, created = self.http.create(
            "/crm/v3/objects/contacts", taken=lambda r: r.status_code == 409,
            json={"properties": {"email": email.strip(), "firstname": first, "lastname": last},
                  "associations": []})
        if created:
            return self._contact(answer.json())
        # Email is unique: the 409 says "Contact already exists. Existing ID: N".
        existing = EXISTING_ID.search(crm_reason(answer))
        return planning.taken_contact(self, email, existing.group(1) if existing else "")

    # writing ------------------------------------------------------------------

    bulk_size = 100  # inputs the batch endpoints take

    def apply(self, change: base.Change) -> None:
        error = self.apply_many([change])[change.id]
        if error is not None:
            raise error

    def apply_many(self, changes: Sequence[base.Change]) -> dict[str, base.CrmError | None]:
        """All the changes in one call per kind of write (properties, each list,
        v4 states, opt-outs, notes), after one read where options merge or an
        opt-out lifts; each change's result from its own record's."""
        plans, done = planning.plans(changes, self._plan)
        current = self._current([p for p in plans if p.edits or p.change.unsubscribe_all is False])
        for plan in plans:
            plan.merge(current.get(plan.ref, {}), lambda chosen: str(VALUES.encode(chosen)))
        moving = {p.change.id: statuses_to_move(self.http, self._channel(), p.change.email,
                                                p.values.get("email", "")) for p in plans}
        done.update(self._update([p for p in plans if p.values]))
        plans = [p for p in plans if done.setdefault(p.change.id, None) is None]
        try:
            for plan in plans:
                moved = moving[plan.change.id]
                if moved is not None:
                    move_statuses(self.http, self._channel(), moved, plan.values["email"], self.basis)
            for list_id, (add, remove) in planning.moves(plans, "list").items():
                self.http.json("PUT", f"/crm/v3/lists/{quoted(list_id)}/memberships/add-and-remove",
                               json={"recordIdsToAdd": add, "recordIdsToRemove": remove})
            self._write_subscriptions(plans, current)
            self._write_notes(plans)
        except base.CrmError as exc:  # the CRM did not take the rest: all of it again later
            done.update({p.change.id: exc for p in plans})
        return done

    def _plan(self, change: base.Change) -> planning.Plan:
        """What one change writes; a refusal before any write raises."""
        props = {u.field.crm_field: _to_hubspot(u.field.type, u.value) for u in change.fields}
        if OPT_OUT in props:
            raise base.CrmValidationError(f"{OPT_OUT} is managed by HubSpot: use unsubscribe from all.",
                                     crm=self.name, field=OPT_OUT)
        self.refuse_unknown_items(change)
        planning.refuse_tags(self, change, "HubSpot contacts have no tags: set tags_property to "
                             "a multiple-checkbox property")
        for item in planning.items_of(change, "subscription_type")[0]:
            type_id(item, self.name)
        # Multiple-checkbox properties change option by option, merged with what is there.
        return planning.Plan(change, props, planning.option_edits(change, self.tags_property))

    def write_cost(self, change: base.Change) -> int:
        lists = {i.ref for i in (*change.join, *change.leave) if i.kind == "list"}
        types = any(i.kind == "subscription_type" for i in (*change.join, *change.leave))
        moves = 2 * any(u.field.crm_field == "email" for u in change.fields)  # read the old
        return (3 + len(lists) + types + moves  # read, update, notes
                + 2 * bool(change.notes))  # a retry looks for the notes it may have written

    def _current(self, plans: Sequence[planning.Plan]) -> dict[str, dict[str, Any]]:
        """The properties the changes merge with or check: one batch read."""
        names = {name for p in plans for name in p.edits} | {"email", OPT_OUT}
        found = self._records([p.ref for p in plans], names) if plans else {}
        return {ref: dict(r.get("properties") or {}) for ref, r in found.items()}

    def _update(self, plans: Sequence[planning.Plan]) -> dict[str, base.CrmError | None]:
        """The properties of all in one batch update; each change's result, by id."""
        if not plans:
            return {}
        body = self.http.json("POST", "/crm/v3/objects/contacts/batch/update", json={
            "inputs": [{"id": p.ref, "properties": p.values} for p in plans]})
        refused = ERRORS.batch_refusals(body, {p.ref for p in plans}, self.name)
        return {p.change.id: refused.get(p.ref) for p in plans}

    def _write_subscriptions(self, plans: Sequence[planning.Plan], current: Mapping[str, Any]) -> None:
        states: list[dict[str, Any]] = []
        for plan in plans:
            email = plan.values.get("email") or current.get(plan.ref, {}).get("email") \
                or plan.change.email
            opted_out = current.get(plan.ref, {}).get(OPT_OUT) == "true"
            states += [self.basis.state(email, item, state, plan.change.consent_for(item), self.name)
                       for item, state in states_of(plan.change, opted_out, self.resubscribe_type,
                                                    self.name)]
        if states:  # "unsubscribe from all" is in them: the types it leaves, one by one
            self.http.json("POST", "/communication-preferences/v4/statuses/batch/write",
                           json={"inputs": states})

    def _write_notes(self, plans: Sequence[planning.Plan]) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        notes = [{"properties": {"hs_timestamp": stamp,
                                 "hs_note_body": planning.marked_html(plan.change, note)},
                  "associations": [{"to": {"id": plan.ref}, "types": [NOTE_TO_CONTACT]}]}
                 for plan in plans
                 for note in planning.unwritten_notes(plan.change, partial(self._notes, plan.ref))]
        if notes:
            self.http.json("POST", "/crm/v3/objects/notes/batch/create", json={"inputs": notes})

    def _notes(self, ref: str) -> list[str]:
        """The texts of a contact's notes, for a retry to see what it wrote before."""
        body = self.http.json("GET", f"/crm/v3/objects/contacts/{quoted(ref)}",
                              params={"associations": "notes"})
        ids = [str(n["id"]) for n in ((body.get("associations") or {}).get("notes") or {})
               .get("results", [])]
        found = self.http.json("POST", "/crm/v3/objects/notes/batch/read", json={
            "properties": ["hs_note_body"], "propertiesWithHistory": [],
            "inputs": [{"id": i} for i in ids[-100:]]}) if ids else {}
        return [(n.get("properties") or {}).get("hs_note_body") or ""
                for n in found.get("results", [])]

    # helpers ------------------------------------------------------------------

    def _channel(self) -> dict[str, str]:
        params = {"channel": "EMAIL"}
        if self.options.get("business_unit_id") is not None:
            params["businessUnitId"] = str(self.options["business_unit_id"])
        return params

    def _contact(self, body: Mapping[str, Any]) -> base.Contact:
        props = body.get("properties") or {}
        return base.Contact(ref=str(body["id"]), email=props.get("email") or "",
                       modified=planning.parse_moment(body.get("updatedAt")),
                       name=planning.full_name(props.get("firstname"), props.get("lastname")))


def _from_hubspot(kind: str, value: Any) -> base.Value:
    """HubSpot sends every value as a string; a date may be midnight UTC in milliseconds."""
    if value is None or value == "":
        return None
    if kind == "date" and str(value).isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC).date().isoformat()
    return VALUES.decode(kind, value)


def _to_hubspot(kind: str, value: base.Value) -> str:
    if kind == "date" and isinstance(value, str) and value:
        # The documented write form for date properties: midnight UTC in milliseconds.
        day = date.fromisoformat(value)
        return str(int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000))
    return str(VALUES.encode(value))
