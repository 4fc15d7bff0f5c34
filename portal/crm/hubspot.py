"""HubSpot: CRM v3 contacts and properties, Communication Preferences v4, CRM lists, notes.

    [crm.main]
    type = "hubspot"
    auth = "private_app"            # or "oauth" (then `flask crm authorize main` once)
    region = "eu1"                  # EU-hosted account: api-eu1.hubapi.com / app-eu1.hubspot.com
    # base_url = "https://api.hubapi.com"   # or set the hosts yourself
    # app_url = "https://app.hubspot.com"
    client_id = "..."               # oauth only; the secret is PORTAL_CRM_MAIN_CLIENT_SECRET
    redirect_uri = "https://example.org/preferencias/oauth/callback"
    legal_basis = "CONSENT_WITH_NOTICE"
    legal_basis_explanation = "The contact chose it in the preference portal."
    resubscribe_type = "101"        # the type that lifts an opt-out from all email (see below)
    tags_property = "portal_tags"   # optional: a multiple-checkbox property that stands in for tags

Secrets: PORTAL_CRM_<NAME>_PRIVATE_APP_TOKEN, or PORTAL_CRM_<NAME>_CLIENT_SECRET
(and optionally PORTAL_CRM_<NAME>_REFRESH_TOKEN to start without `authorize`).

Subscription items: "subscription_type" (ref = subscription id), "list" (ref =
CRM list id; manual lists only) and "option" (ref = a multiple-checkbox
property, value = one of its options).

HubSpot has no contact tags. With `tags_property` set, tags are written as
options of that multiple-checkbox property (each tag must exist as an
option); without it the adapter reports `supports_tags = False` and refuses
tag changes. HubSpot lifts an "unsubscribed from all email" only when the
contact subscribes to a type again: `resubscribe_type` names the type used
when the contact lifts it without choosing one.

New contacts are made with `POST /crm/v3/objects/contacts`. Email is unique:
a taken one is answered 409 "Contact already exists. Existing ID: N", and
the adapter returns that contact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from portal.crm.base import (
    Catalog,
    Change,
    Contact,
    CrmAdapter,
    CrmAuthError,
    CrmConfigError,
    CrmError,
    CrmFieldInfo,
    CrmItemInfo,
    CrmNotFound,
    CrmUnsupported,
    CrmValidationError,
    FieldRef,
    FieldType,
    ItemRef,
    Profile,
    Value,
)
from portal.crm.http import CrmHttp, client_options, crm_reason, redact
from portal.crm.oauth import BearerAuth, OAuthClient, TokenManager
from portal.crm.planning import (
    merge_options,
    note_html,
    option_edits,
    parse_moment,
    split_name,
    split_options,
    taken_contact,
)

LEGAL_BASES = ("CONSENT_WITH_NOTICE", "LEGITIMATE_INTEREST_CLIENT", "LEGITIMATE_INTEREST_OTHER",
               "LEGITIMATE_INTEREST_PQL", "NON_GDPR", "PERFORMANCE_OF_CONTRACT", "PROCESS_AND_STORE")
SCOPES = ("crm.objects.contacts.read crm.objects.contacts.write crm.schemas.contacts.read "
          "communication_preferences.read_write crm.lists.read crm.lists.write oauth")
OPT_OUT = "hs_email_optout"  # HubSpot's own "unsubscribed from all email" property
NOTE_TO_CONTACT = 202  # HUBSPOT_DEFINED association type note → contact
EXISTING_ID = re.compile(r"Existing ID: (\d+)")  # in the 409 that answers a taken email
PORTAL_TYPES: dict[str, FieldType] = {
    "text": "text", "textarea": "textarea", "phonenumber": "tel", "select": "select",
    "radio": "select", "checkbox": "multiselect", "booleancheckbox": "checkbox", "date": "date",
}


class HubSpotCrm(CrmAdapter):
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
        self.legal_basis = self.options.get("legal_basis", "CONSENT_WITH_NOTICE")
        if self.legal_basis not in LEGAL_BASES:
            raise CrmConfigError(f"crm.{name}.legal_basis must be one of {', '.join(LEGAL_BASES)}.",
                                 crm=name)
        self.legal_basis_explanation = str(self.options.get(
            "legal_basis_explanation", "The contact chose this in the preference portal."))
        self.tags_property = str(self.options.get("tags_property", ""))
        self.supports_tags = bool(self.tags_property)  # type: ignore[misc]
        self.resubscribe_type = str(self.options.get("resubscribe_type", ""))
        timeouts = client_options(self.options)
        self.tokens: TokenManager | None = None
        mode = self.options.get("auth", "private_app")
        if mode == "oauth":
            self.tokens = TokenManager(self.oauth_client(), state_dir, timeout=(
                timeouts["connect_timeout"], timeouts["read_timeout"]))
            auth: requests.auth.AuthBase = BearerAuth(self.tokens)
            hint = f"the OAuth app of '{name}' (`flask crm authorize {name}`)"
        elif mode == "private_app":
            auth = _StaticBearer(lambda: self.secret("private_app_token"))
            hint = self.secret_env_name("private_app_token")
        else:
            raise CrmConfigError(f'crm.{name}.auth must be "private_app" or "oauth".', crm=name)
        self.http = CrmHttp(name, self.base_url, auth=auth, classify=self._classify,
                            credentials_hint=hint, **timeouts)

    def oauth_client(self) -> OAuthClient:
        return OAuthClient(
            crm=self.name, kind=self.kind,
            token_url=self.options.get("token_url", f"{self.base_url}/oauth/v1/token"),
            authorize_url=self.options.get("authorize_url", f"{self.app_url}/oauth/authorize"),
            client_id=str(self.options.get("client_id", "")),
            client_secret=self.secret("client_secret"),
            scope=str(self.options.get("scopes", SCOPES)),
            redirect_uri=str(self.options.get("redirect_uri", "")),
            bootstrap_refresh_token=self.optional_secret("refresh_token"),
            leeway=float(self.options.get("refresh_leeway", 300)),
        )

    # reading ------------------------------------------------------------------

    def find_contacts(self, email: str) -> list[Contact]:
        # email is unique in HubSpot: idProperty=email finds the one contact, 404 means none.
        # HubSpot keeps emails in lower case; asking in lower case matches whatever was typed.
        try:
            body = self.http.json("GET", f"/crm/v3/objects/contacts/{_path(email.strip().lower())}",
                                  params={"idProperty": "email", "properties": "email,firstname,lastname"})
        except CrmNotFound:
            return []
        return [self._contact(body)]

    def fetch_profile(
        self, contact: Contact, fields: Sequence[FieldRef], items: Sequence[ItemRef]
    ) -> Profile:
        option_props = {i.ref for i in items if i.kind == "option"}
        wanted = {f.crm_field for f in fields} | option_props | {"email", "firstname", "lastname",
                                                                   OPT_OUT}
        body = self.http.json("GET", f"/crm/v3/objects/contacts/{_path(contact.ref)}",
                              params={"properties": ",".join(sorted(wanted))})
        props = body.get("properties") or {}
        values = {f.crm_field: _from_hubspot(props.get(f.crm_field), f.type) for f in fields}
        subscribed = {i for i in items if i.kind == "option"
                      and i.value in split_options(props.get(i.ref))}
        email = props.get("email") or contact.email
        if any(i.kind == "subscription_type" for i in items):
            subscribed |= self._subscribed_types(email, items)
        if any(i.kind == "list" for i in items):
            subscribed |= self._in_lists(contact.ref, items)
        return Profile(contact=self._contact(body), values=values, subscribed=frozenset(subscribed),
                       opted_out_all=props.get(OPT_OUT) == "true")

    def read_cost(self, fields: Sequence[FieldRef], items: Sequence[ItemRef]) -> int:
        # The contact, plus its v4 statuses and its list memberships when those items are asked.
        kinds = {i.kind for i in items}
        return 1 + ("subscription_type" in kinds) + ("list" in kinds)

    def _subscribed_types(self, email: str, items: Sequence[ItemRef]) -> set[ItemRef]:
        body = self.http.json("GET", f"/communication-preferences/v4/statuses/{_path(email)}",
                              params=self._channel())
        on = {str(s.get("subscriptionId")) for s in body.get("results", [])
              if s.get("status") == "SUBSCRIBED"}
        return {i for i in items if i.kind == "subscription_type" and i.ref in on}

    def _in_lists(self, contact_id: str, items: Sequence[ItemRef]) -> set[ItemRef]:
        body = self.http.json("GET", f"/crm/v3/lists/records/0-1/{_path(contact_id)}/memberships")
        member_of = {str(m.get("listId")) for m in body.get("results", [])}
        return {i for i in items if i.kind == "list" and i.ref in member_of}

    def describe(self) -> Catalog:
        props = self.http.json("GET", "/crm/v3/properties/contacts",
                               params={"archived": "false"}).get("results", [])
        fields, items = [], []
        for prop in props:
            if prop.get("hidden") or prop.get("calculated"):
                continue
            choices = tuple((o["value"], o.get("label", o["value"])) for o in prop.get("options", [])
                            if not o.get("hidden"))
            read_only = bool((prop.get("modificationMetadata") or {}).get("readOnlyValue"))
            kind = "email" if prop["name"] == "email" else PORTAL_TYPES.get(prop.get("fieldType", ""))
            fields.append(CrmFieldInfo(
                key=prop["name"], label=prop.get("label", prop["name"]),
                type=f"{prop.get('type')}/{prop.get('fieldType')}", portal_type=kind,
                choices=choices if prop.get("type") == "enumeration" else (),
                custom=not prop.get("hubspotDefined", False), read_only=read_only))
            if prop.get("fieldType") == "checkbox" and prop.get("type") == "enumeration" \
                    and not read_only:
                items += [CrmItemInfo(ItemRef("option", prop["name"], value), f"{prop['label']}: {label}")
                          for value, label in choices]
        definitions = self.http.json("GET", "/communication-preferences/v4/definitions")
        items += [CrmItemInfo(ItemRef("subscription_type", str(d["id"])), d.get("name", str(d["id"])))
                  for d in definitions.get("results", []) if d.get("isActive", True)]
        try:
            lists = self.http.json("POST", "/crm/v3/lists/search",
                                   json={"processingTypes": ["MANUAL", "SNAPSHOT"], "count": 500})
        except CrmAuthError:
            lists = {}  # the lists scopes are optional: without them there are no list items
        items += [CrmItemInfo(ItemRef("list", str(lst["listId"])), lst.get("name", ""))
                  for lst in lists.get("lists", []) if lst.get("processingType") != "DYNAMIC"]
        return Catalog(fields=tuple(fields), items=tuple(items))

    def check_access(self) -> None:
        self.http.json("GET", "/crm/v3/objects/contacts", params={"limit": 1, "properties": "email"})
        self.http.json("GET", "/communication-preferences/v4/definitions")

    def endpoints(self) -> list[str]:
        urls = [self.base_url]
        if self.tokens is not None:
            urls.append(self.tokens.client.token_url)
        return urls

    def create_contact(self, email: str, name: str = "") -> Contact:
        first, last = split_name(name)
        answer, created = self.http.create(
            "/crm/v3/objects/contacts", taken=lambda r: r.status_code == 409,
            json={"properties": {"email": email.strip(), "firstname": first, "lastname": last}})
        if created:
            return self._contact(answer.json())
        # Email is unique: the 409 says "Contact already exists. Existing ID: N".
        existing = EXISTING_ID.search(crm_reason(answer))
        return taken_contact(self, email, existing.group(1) if existing else "")

    # writing ------------------------------------------------------------------

    def apply(self, change: Change) -> None:
        ref = change.contact_ref
        props = {u.field.crm_field: _to_hubspot(u.value, u.field.type) for u in change.fields}
        if OPT_OUT in props:
            raise CrmValidationError(f"{OPT_OUT} is managed by HubSpot: use unsubscribe from all.",
                                     crm=self.name, field=OPT_OUT)
        self.refuse_unknown_items(change)
        if (change.add_tags or change.remove_tags) and not self.tags_property:
            raise CrmUnsupported("HubSpot contacts have no tags: set tags_property to a "
                                 f"multiple-checkbox property in [crm.{self.name}].", crm=self.name)
        # Multiple-checkbox properties change option by option, merged with what is there.
        edits = option_edits(change, self.tags_property)
        current = self._read_for_write(ref, set(edits), change)
        for prop, (add, drop) in edits.items():
            props[prop] = ";".join(merge_options(split_options(current.get(prop)), add, drop))
        if props:
            self.http.json("PATCH", f"/crm/v3/objects/contacts/{_path(ref)}",
                           json={"properties": props})
        email = props.get("email") or current.get("email") or change.email
        for item in change.join:
            if item.kind == "list":
                self.http.json("PUT", f"/crm/v3/lists/{_path(item.ref)}/memberships/add", json=[ref])
        for item in change.leave:
            if item.kind == "list":
                self.http.json("PUT", f"/crm/v3/lists/{_path(item.ref)}/memberships/remove",
                               json=[ref])
        joins = [i for i in change.join if i.kind == "subscription_type"]
        if change.unsubscribe_all is False and current.get(OPT_OUT) == "true" and not joins:
            if not self.resubscribe_type:
                raise CrmValidationError(
                    "HubSpot lifts an opt-out from all email only when the contact subscribes to "
                    f"a subscription type again: set resubscribe_type in [crm.{self.name}].",
                    crm=self.name)
            joins = [ItemRef("subscription_type", self.resubscribe_type)]
        for item in joins:
            self._set_status(email, item, "SUBSCRIBED")
        for item in change.leave:
            if item.kind == "subscription_type":
                self._set_status(email, item, "UNSUBSCRIBED")
        if change.unsubscribe_all:
            self.http.json("POST", f"/communication-preferences/v4/statuses/{_path(email)}"
                           "/unsubscribe-all", params=self._channel())
        self._write_notes(ref, change, current)

    def _read_for_write(self, ref: str, option_props: set[str], change: Change) -> dict[str, Any]:
        """One read when the change needs current values: merged options, the
        global opt-out, the email and which notes exist."""
        if not (option_props or change.notes or change.unsubscribe_all is False):
            return {}
        params = {"properties": ",".join(sorted(option_props | {"email", OPT_OUT}))}
        if change.notes:
            params["associations"] = "notes"
        body = self.http.json("GET", f"/crm/v3/objects/contacts/{_path(ref)}", params=params)
        current = dict(body.get("properties") or {})
        notes = ((body.get("associations") or {}).get("notes") or {}).get("results", [])
        current["__notes"] = [str(n["id"]) for n in notes]
        return current

    def _set_status(self, email: str, item: ItemRef, state: str) -> None:
        try:
            subscription_id = int(item.ref)
        except ValueError:
            raise CrmValidationError(f"HubSpot subscription type ids are numbers, not '{item.ref}'.",
                                     crm=self.name) from None
        self.http.json("POST", f"/communication-preferences/v4/statuses/{_path(email)}", json={
            "channel": "EMAIL", "subscriptionId": subscription_id, "statusState": state,
            "legalBasis": self.legal_basis, "legalBasisExplanation": self.legal_basis_explanation,
        })

    def _write_notes(self, ref: str, change: Change, current: Mapping[str, Any]) -> None:
        if not change.notes:
            return
        marker = change.note_marker()
        note_ids = current.get("__notes") or []
        if note_ids:
            found = self.http.json("POST", "/crm/v3/objects/notes/batch/read", json={
                "properties": ["hs_note_body"], "inputs": [{"id": i} for i in note_ids[-100:]]})
            if any(marker in ((n.get("properties") or {}).get("hs_note_body") or "")
                   for n in found.get("results", [])):
                return  # written by an earlier attempt of this change
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        for note in change.notes:
            body = (f"<p><strong>{note_html(note.title)}</strong></p><p>{note_html(note.body)}</p>"
                    f"<p>{marker}</p>")
            self.http.json("POST", "/crm/v3/objects/notes", json={
                "properties": {"hs_timestamp": stamp, "hs_note_body": body},
                "associations": [{"to": {"id": ref}, "types": [
                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_CONTACT}]}],
            })

    # helpers ------------------------------------------------------------------

    def _channel(self) -> dict[str, str]:
        params = {"channel": "EMAIL"}
        if self.options.get("business_unit_id") is not None:
            params["businessUnitId"] = str(self.options["business_unit_id"])
        return params

    def _contact(self, body: Mapping[str, Any]) -> Contact:
        props = body.get("properties") or {}
        name = " ".join(p for p in (props.get("firstname"), props.get("lastname")) if p)
        return Contact(ref=str(body["id"]), email=props.get("email") or "",
                       modified=parse_moment(body.get("updatedAt")), name=name)

    def _classify(self, response: requests.Response) -> CrmError | None:
        if response.status_code != 400:
            return None
        try:
            errors = response.json().get("errors") or []
        except (ValueError, AttributeError):
            return None
        for error in errors:
            names = (error.get("context") or {}).get("propertyName") or []
            if names:
                reason = redact(error.get("message") or crm_reason(response), self.http.secrets)
                return CrmValidationError(f"HubSpot refused {names[0]}: {reason}", crm=self.name,
                                          reason=reason, field=names[0])
        return None


class _StaticBearer(requests.auth.AuthBase):
    """A private-app token, read from the environment when first needed."""

    def __init__(self, token: Any) -> None:
        self._get = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._get()}"
        return request


def _path(value: str) -> str:
    return quote(value, safe="@")


def _from_hubspot(value: Any, kind: str) -> Value:
    """HubSpot sends every value as a string; turn it into the portal's type."""
    if value is None or value == "":
        return None
    text = str(value)
    if kind == "checkbox":
        return text.lower() == "true"
    if kind == "multiselect":
        return split_options(text)
    if kind == "date":
        if text.isdigit():  # milliseconds at midnight UTC
            return datetime.fromtimestamp(int(text) / 1000, UTC).date().isoformat()
        return text[:10]
    return text


def _to_hubspot(value: Value, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(value)
    if kind == "date" and value:
        # The documented write form for date properties: midnight UTC in milliseconds.
        day = date.fromisoformat(value)
        return str(int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000))
    return value
