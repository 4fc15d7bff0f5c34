"""Clientify (REST API v1) adapter.

    [crm.main]
    type = "clientify"
    base_url = "https://api.clientify.net"    # the default; /v1 is added
    # secret: PORTAL_CRM_MAIN_API_TOKEN (the API key from Clientify's settings)

Standard fields are addressed by name (`first_name`, `last_name`, `title`,
`status`, ..., and `email` for the contact's first email); any other name is
a custom field, addressed by its name as Clientify does (`"--"` is its empty
value). Clientify has no mailing lists for contacts: subscription items are
tags (`kind = "tag"`). The email search is fuzzy, so only exact matches are
kept. "Unsubscribe from all" sets the contact's marketing status; Clientify
does not document its values, so true is taken as "may receive marketing"
(the toggle in its own connector catalogue): check it on a test contact.

New contacts are made with `POST /v1/contacts/` (`first_name`, `last_name`,
`email`), as gwannon/PHPClientifyAPI's `create` does. Clientify does not
keep emails unique: a taken email gets a second contact, as in Clientify.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from portal.crm.base import (
    Catalog,
    Change,
    Contact,
    CrmAdapter,
    CrmFieldInfo,
    CrmItemInfo,
    FieldRef,
    FieldType,
    ItemRef,
    Note,
    Profile,
    Value,
)
from portal.crm.http import CrmHttp, base_url_option, client_options
from portal.crm.planning import (
    TextValues,
    full_name,
    items_in,
    marked_note,
    notes_to_write,
    parse_moment,
    same_email,
    split_name,
    tag_plan,
    write_notes,
)

DEFAULT_URL = "https://api.clientify.net"
STANDARD = ("first_name", "last_name", "title", "status", "description", "remarks", "summary",
            "linkedin_url", "contact_source")
# Custom values are text: "--" is Clientify's own "no value", a multi-select's options are
# joined by ",", and a ticked box may be spelt in Spanish.
VALUES = TextValues(separator=",", empty="--",
                    ticked=frozenset({"true", "1", "yes", "si", "sí"}))
SEARCH_PAGES = 5  # a fuzzy search of an exact address is short; never page through everyone
PORTAL_TYPES: dict[str, FieldType] = {
    "text": "text", "textarea": "textarea", "date": "date", "select": "select",
    "multiselect": "multiselect", "boolean": "checkbox", "checkbox": "checkbox",
}


class ClientifyCrm(CrmAdapter):
    kind = "clientify"
    item_kinds = frozenset({"tag"})
    supports_tags = True

    def __init__(self, name: str, options: Mapping[str, Any], state_dir: Path) -> None:
        super().__init__(name, options, state_dir)
        self.base_url = base_url_option("Clientify", name, self.options, "/v1", DEFAULT_URL)
        env = self.secret_env_name("api_token")
        self.http = CrmHttp(
            name, f"{self.base_url}/v1",
            headers={"Authorization": f"Token {self.secret('api_token')}"},
            credentials_hint=f"the API key in {env} (from the API section of Clientify's settings)",
            permissions_hint=f"that the Clientify user owning the key in {env} may edit contacts",
            **client_options(self.options),
        )

    # --- reading -------------------------------------------------------------

    def find_contacts(self, email: str) -> list[Contact]:
        pages = self.http.pages("contacts/", lambda body: body.get("next"),  # it carries the query
                                params={"query": email.strip(), "page_size": 50}, most=SEARCH_PAGES)
        return [_contact(c, email) for body in pages for c in body.get("results", [])
                if any(same_email(e.get("email"), email) for e in c.get("emails", []))]

    def create_contact(self, email: str, name: str = "") -> Contact:
        first, last = split_name(name)
        raw = self.http.json("POST", "contacts/", json={
            "first_name": first, "last_name": last, "email": email.strip()})
        return _contact(raw, email)

    def fetch_profile(
        self, contact: Contact, fields: Sequence[FieldRef], items: Sequence[ItemRef]
    ) -> Profile:
        raw = self.http.json("GET", f"contacts/{contact.ref}/")
        tags = set(raw.get("tags") or [])
        return Profile(
            contact=_contact(raw, contact.email),
            values={ref.crm_field: _value(raw, ref) for ref in fields},
            subscribed=items_in(items, {"tag": tags}),
            opted_out_all=raw.get("marketing_status") is False,
        )

    # --- writing -------------------------------------------------------------

    def apply(self, change: Change) -> None:
        self.refuse_unknown_items(change)
        ref = change.contact_ref
        raw = self.http.json("GET", f"contacts/{ref}/")  # proves it exists; emails and tags
        self._write_fields(ref, raw, change)
        add, remove = tag_plan(change)
        self._write_tags(ref, set(raw.get("tags") or []), add, remove)
        if change.unsubscribe_all is not None:
            self.http.json("PUT", f"contacts/{ref}/marketing_status/",
                           json={"marketing_status": not change.unsubscribe_all})
        self._write_notes(ref, change)

    def write_cost(self, change: Change) -> int:
        # The contact (its emails and tags), its fields and email, each tag (and
        # the tag list to remove one), the marketing status, each note after
        # reading the wall, each automation.
        add, remove = tag_plan(change)
        notes = len(notes_to_write(change))
        return (1 + 2 * bool(change.fields) + len(add) + bool(remove) + len(remove)
                + (change.unsubscribe_all is not None) + bool(notes) + notes
                + len(change.automations))

    def _write_fields(self, ref: str, raw: Mapping[str, Any], change: Change) -> None:
        body: dict[str, Any] = {}
        custom = []
        for update in change.fields:
            name = update.field.crm_field
            if name == "email":
                self._write_email(ref, raw, change.email, update.value)
            elif name in STANDARD:
                body[name] = "" if update.value is None else update.value
            else:
                custom.append({"field": name, "value": VALUES.encode(update.value)})
        if custom:
            body["custom_fields"] = custom
        if body:
            self.http.json("PUT", f"contacts/{ref}/", json=body)  # partial: only sent keys change

    def _write_notes(self, ref: str, change: Change) -> None:
        def texts() -> list[str]:
            wall = self.http.json("GET", f"contacts/{ref}/wallentries").get("results", [])
            # The wall entry's shape is not documented: look for the marker anywhere in it.
            return [json.dumps(entry, ensure_ascii=False) for entry in wall]

        def post(note: Note) -> None:
            self.http.json("POST", f"contacts/{ref}/note/", json={
                "name": note.title, "comment": marked_note(change, note, with_title=False)})

        def start(automation: str) -> None:
            self.http.json("POST", f"automations/{automation}/add_contacts/",
                           json={"contact_id": int(ref)})

        write_notes(change, texts, post, start)

    def _write_email(self, ref: str, raw: Mapping[str, Any], old: str, value: Value) -> None:
        """A contact holds several addresses: the one the contact came in with is
        the one that changes (else the first); the others stay."""
        emails = raw.get("emails") or []
        entry = next((e for e in emails if same_email(e.get("email"), old)), None)
        if entry is None and any(same_email(e.get("email"), str(value or "")) for e in emails):
            return  # written already: a replay
        entry = entry or (emails[0] if emails else None)
        if entry is not None:
            self.http.json("PUT", f"contacts/{ref}/emails/{entry['id']}/",
                           json={"email": value or "", "type": entry.get("type", 1)})
        else:
            self.http.json("POST", f"contacts/{ref}/emails/", json={"email": value or "", "type": 1})

    def _write_tags(self, ref: str, have: set[str], add: list[str], remove: list[str]) -> None:
        for name in add:
            if name not in have:
                self.http.json("POST", f"contacts/{ref}/tags/", json={"name": name})
        if not any(name in have for name in remove):
            return
        # Removing needs the tag's id, which only the contact's tag list gives.
        listed = self.http.json("GET", f"contacts/{ref}/tags/").get("results", [])
        ids = {t["name"]: t["id"] for t in listed}
        for name in remove:
            if name in ids:
                self.http.request("DELETE", f"contacts/{ref}/tags/{ids[name]}/", ok=(404,))

    # --- set-up tools ----------------------------------------------------------

    def describe(self) -> Catalog:
        found = self._every("custom-fields/", object_type="contact")
        standard = tuple(CrmFieldInfo(name, name.replace("_", " ").capitalize(), "text",
                                      "textarea" if name in ("description", "remarks") else "text")
                         for name in STANDARD)
        email = CrmFieldInfo("email", "Email", "email", "email")
        custom = tuple(_custom_field(f) for f in found)
        tags = [t["name"] for t in self._every("contacts/tags/")]
        return Catalog(fields=(email, *standard, *custom),
                       items=tuple(CrmItemInfo(ItemRef("tag", t), t) for t in tags),
                       tags=tuple(tags))

    def automations(self) -> list[tuple[str, str]]:
        """(id, name) of the account's automations, for `portal fields`."""
        return [(str(a["id"]), a.get("name", "")) for a in self._every("automations/")]

    def _every(self, path: str, **params: str) -> list[dict[str, Any]]:
        """Every row of a catalogue, following each page's `next`."""
        return [row for body in self.http.pages(path, lambda body: body.get("next"),
                                                params={**params, "page_size": 200})
                for row in body.get("results", [])]

    def check_access(self) -> None:
        self.http.json("GET", "contacts/", params={"page_size": 1})
        self.http.json("GET", "custom-fields/", params={"object_type": "contact", "page_size": 1})

    def endpoints(self) -> list[str]:
        return [self.base_url]


def _first_email(raw: Mapping[str, Any]) -> str | None:
    emails = raw.get("emails") or []
    return emails[0].get("email") if emails else None


def _contact(raw: Mapping[str, Any], email: str) -> Contact:
    # A contact can hold several addresses: report the one that matched.
    match = next((e["email"] for e in raw.get("emails") or [] if same_email(e.get("email"), email)),
                 _first_email(raw) or "")
    return Contact(ref=str(raw["id"]), email=match,
                   name=full_name(raw.get("first_name"), raw.get("last_name")),
                   modified=parse_moment(raw.get("modified") or raw.get("created")))


def _value(raw: Mapping[str, Any], ref: FieldRef) -> Value:
    """A field's value: the first email, a standard field, or a custom field by name."""
    if ref.crm_field == "email":
        return _first_email(raw)
    if ref.crm_field in STANDARD:
        return raw.get(ref.crm_field) or None
    custom = {c.get("field"): c.get("value") for c in raw.get("custom_fields") or []}
    return VALUES.decode(ref.type, custom.get(ref.crm_field))


def _custom_field(spec: Mapping[str, Any]) -> CrmFieldInfo:
    kind = str(spec.get("field_type") or spec.get("type") or "text")
    return CrmFieldInfo(key=spec["name"], label=spec.get("label") or spec["name"], type=kind,
                        portal_type=PORTAL_TYPES.get(kind), custom=True,
                        choices=tuple((str(c), str(c)) for c in spec.get("choices") or []))
