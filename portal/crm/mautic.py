"""Mautic (self-hosted, REST API of 4.x/5.x) adapter.

    [crm.main]
    type = "mautic"
    base_url = "https://mautic.example.org"   # the instance; the API is under /api
    auth = "basic"                            # or "oauth2" (client credentials)
    username = "portal-api"                   # basic: the API user's login
    # secrets: PORTAL_CRM_MAIN_PASSWORD (basic), or
    #          PORTAL_CRM_MAIN_CLIENT_ID and PORTAL_CRM_MAIN_CLIENT_SECRET (oauth2)

Fields are addressed by alias; items are segments (`kind = "segment"`, ref =
segment id) and tags (`kind = "tag"`, ref = tag name). "Unsubscribe from all"
is a Do Not Contact entry on the email channel; lifting it removes the entry
unless Mautic recorded a bounce. Automations are campaign ids: the contact is
added to the campaign. OAuth2 tokens are kept by portal.crm.oauth (a file in
the adapter's state folder) and refreshed by a new client-credentials grant.

New contacts are made with `POST /api/contacts/new`. Email is Mautic's
default unique identifier: posting a taken email updates that contact with
the posted fields (200) instead of creating one (201). So the adapter posts
the email alone and names the contact only when Mautic made a new one: a
taken email returns the contact that has it, unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import requests

from portal.crm.base import (
    Catalog,
    Change,
    Contact,
    CrmAdapter,
    CrmConfigError,
    CrmFieldInfo,
    CrmItemInfo,
    FieldRef,
    FieldType,
    ItemRef,
    Note,
    Profile,
)
from portal.crm.http import CrmHttp, base_url_option, choice_option, client_options
from portal.crm.planning import (
    TextValues,
    full_name,
    items_in,
    items_of,
    marked_note,
    parse_moment,
    same_email,
    split_name,
    tag_plan,
    write_notes,
)

DNC_UNSUBSCRIBED, DNC_BOUNCED = 1, 2
VALUES = TextValues(separator="|", yes=1, no=0)  # Mautic's own multiselect storage is "a|b"
PORTAL_TYPES: dict[str, FieldType] = {
    "text": "text", "email": "email", "tel": "tel", "textarea": "textarea", "select": "select",
    "lookup": "select", "multiselect": "multiselect", "boolean": "checkbox", "date": "date",
    "country": "country", "url": "text", "number": "text", "region": "text", "locale": "text",
    "timezone": "text",
}


class MauticCrm(CrmAdapter):
    kind = "mautic"
    item_kinds = frozenset({"segment", "tag"})
    supports_tags = True

    def __init__(self, name: str, options: Mapping[str, Any], state_dir: Path) -> None:
        super().__init__(name, options, state_dir)
        self.base_url = base_url_option("Mautic", name, self.options, "/api")
        if choice_option(name, self.options, "auth", ("basic", "oauth2")) == "basic":
            username = str(self.options.get("username", ""))
            if not username:
                raise CrmConfigError(f"The Mautic CRM '{name}' needs username = \"...\" "
                                     f"(the API user) in [crm.{name}].", crm=name)
            auth: requests.auth.AuthBase = requests.auth.HTTPBasicAuth(username,
                                                                       self.secret("password"))
            hint = (f"username in [crm.{name}] and {self.secret_env_name('password')}, and that "
                    "Mautic's API and its HTTP basic auth are enabled (Configuration → API Settings)")
        else:
            auth = self._oauth()
            hint = (f"{self.secret_env_name('client_id')} and {self.secret_env_name('client_secret')}"
                    " (Settings → API Credentials, OAuth 2)")
        self.http = CrmHttp(
            name, f"{self.base_url}/api", auth=auth, credentials_hint=hint,
            permissions_hint=("the role of the API user: it needs to view and edit contacts, "
                              "segments, notes and campaigns (Settings → Roles)"),
            **client_options(self.options),
        )

    def _oauth(self) -> requests.auth.AuthBase:
        from portal.crm.oauth import OAuthClient, signed

        client = OAuthClient(
            crm=self.name, kind="mautic", token_url=f"{self.base_url}/oauth/v2/token",
            client_id=self.secret("client_id"), client_secret=self.secret("client_secret"),
            grant="client_credentials",
            hint=f"{self.secret_env_name('client_id')} and {self.secret_env_name('client_secret')}",
        )
        self.tokens, auth = signed(self, client)
        return auth

    # --- reading -------------------------------------------------------------

    def find_contacts(self, email: str) -> list[Contact]:
        body = self.http.json("GET", "contacts", params={"search": f"email:{email.strip()}",
                                                         "limit": 30})
        return [_contact(c) for c in _records(body.get("contacts"))
                if same_email(_values(c).get("email"), email)]

    def create_contact(self, email: str, name: str = "") -> Contact:
        response = self.http.request("POST", "contacts/new", json={"email": email.strip()})
        raw = response.json()["contact"]
        first, last = split_name(name)
        if response.status_code == 201 and (first or last):
            raw = self.http.json("PATCH", f"contacts/{raw['id']}/edit",
                                 json={"firstname": first, "lastname": last})["contact"]
        return _contact(raw)

    def fetch_profile(
        self, contact: Contact, fields: Sequence[FieldRef], items: Sequence[ItemRef]
    ) -> Profile:
        raw = self.http.json("GET", f"contacts/{contact.ref}")["contact"]
        stored = _values(raw)
        values = {ref.crm_field: VALUES.decode(ref.type, stored.get(ref.crm_field)) for ref in fields}
        member = self._segments(contact.ref) if any(i.kind == "segment" for i in items) else set()
        return Profile(contact=_contact(raw), values=values,
                       subscribed=items_in(items, {"tag": _tags(raw), "segment": member}),
                       opted_out_all=_email_dnc(raw) is not None)

    def _segments(self, ref: str) -> set[str]:
        body = self.http.json("GET", f"contacts/{ref}/segments")
        # The docs show "segments"; older answers used "lists".
        return {str(s["id"]) for s in _records(body.get("segments", body.get("lists")))}

    def read_cost(self, fields: Sequence[FieldRef], items: Sequence[ItemRef]) -> int:
        return 2 if any(i.kind == "segment" for i in items) else 1  # segments: a second GET

    # --- writing -------------------------------------------------------------

    def apply(self, change: Change) -> None:
        self.refuse_unknown_items(change)
        ref = change.contact_ref
        raw = self._edit(ref, change)
        join, leave = items_of(change, "segment")
        for item in join:
            self.http.json("POST", f"segments/{item.ref}/contact/{ref}/add")
        for item in leave:
            self.http.json("POST", f"segments/{item.ref}/contact/{ref}/remove")
        if change.unsubscribe_all is not None:
            self._opt_out(ref, change.unsubscribe_all, raw)
        self._write_notes(ref, change)

    def _write_notes(self, ref: str, change: Change) -> None:
        def texts() -> list[str]:
            return [n.get("text", "") for n in self.http.json(
                "GET", f"contacts/{ref}/notes", params={"limit": 100}).get("notes", [])]

        def post(note: Note) -> None:
            self.http.json("POST", "notes/new", json={
                "lead": int(ref), "text": marked_note(change, note), "type": "general"})

        def start(campaign: str) -> None:
            self.http.json("POST", f"campaigns/{campaign}/contact/{ref}/add")

        write_notes(change, texts, post, start)

    def _edit(self, ref: str, change: Change) -> dict[str, Any] | None:
        """One PATCH for fields and tags (it 404s for a missing contact); the
        contact it answers, or None when there was nothing to send."""
        body: dict[str, Any] = {u.field.crm_field: VALUES.encode(u.value) for u in change.fields}
        if any(update.value in (None, "", []) for update in change.fields):
            body["overwriteWithBlank"] = True  # else Mautic ignores the blanks
        add, remove = tag_plan(change)
        if add or remove:
            body["tags"] = [*add, *(f"-{t}" for t in remove)]
        if not body:
            if change.is_empty():
                return None
            return _contact_of(self.http.json("GET", f"contacts/{ref}"))  # proves it exists
        return _contact_of(self.http.json("PATCH", f"contacts/{ref}/edit", json=body))

    def _opt_out(self, ref: str, opt_out: bool, raw: Mapping[str, Any] | None) -> None:
        if opt_out:
            self.http.json("POST", f"contacts/{ref}/dnc/email/add", json={
                "reason": DNC_UNSUBSCRIBED, "comments": "Unsubscribed in the preference portal"})
            return
        current = _email_dnc(raw if raw is not None else
                             self.http.json("GET", f"contacts/{ref}")["contact"])
        # A bounce is Mautic's finding, not the contact's wish: it stays.
        if current is not None and int(current.get("reason") or 0) != DNC_BOUNCED:
            self.http.json("POST", f"contacts/{ref}/dnc/email/remove")

    # --- set-up tools ----------------------------------------------------------

    def describe(self) -> Catalog:
        raw_fields = self._every("fields/contact", "fields")
        fields = []
        for f in raw_fields:
            props = f.get("properties") or {}
            choices = props.get("list", []) if isinstance(props, dict) else []
            if isinstance(choices, str):  # older Mautic: "a|b" or "label|value" lines
                choices = [{"label": c, "value": c} for c in choices.split("|") if c]
            fields.append(CrmFieldInfo(
                key=f["alias"], label=f.get("label", ""), type=f.get("type", ""),
                portal_type=PORTAL_TYPES.get(f.get("type", "")),
                choices=tuple((str(c.get("value")), str(c.get("label"))) for c in choices),
                custom=f["alias"] not in ("email", "firstname", "lastname"),
                read_only=not f.get("isPublished", True),
            ))
        segments = self._every("segments", "lists")
        items = [CrmItemInfo(ItemRef("segment", str(s["id"])), s.get("name", "")) for s in segments]
        tags = [t["tag"] for t in self._every("tags", "tags")]
        items += [CrmItemInfo(ItemRef("tag", t), t) for t in tags]
        return Catalog(fields=tuple(fields), items=tuple(items), tags=tuple(tags))

    def automations(self) -> list[tuple[str, str]]:
        """(id, name) of the instance's campaigns, for `portal fields`."""
        return [(str(c["id"]), c.get("name", "")) for c in self._every("campaigns", "campaigns")]

    def _every(self, path: str, key: str) -> list[dict[str, Any]]:
        """Every row of a catalogue, page by page (`start` and `limit`)."""
        return [row for body in self.http.offset_pages(path, key, size=PAGE, start="start")
                for row in _records(body.get(key))]

    def check_access(self) -> None:
        for path in ("contacts", "fields/contact", "segments", "campaigns"):
            self.http.json("GET", path, params={"limit": 1})

    def endpoints(self) -> list[str]:
        return [self.base_url]


def _contact_of(answer: Any) -> dict[str, Any]:
    """The contact in an answer about one contact."""
    contact: dict[str, Any] = answer["contact"]
    return contact


PAGE = 200  # rows a catalogue page asks for (Mautic's default is 30)


def _records(found: Any) -> list[dict[str, Any]]:
    """Mautic answers collections as a map keyed by id, or `[]` when empty."""
    if isinstance(found, dict):
        return list(found.values())
    return list(found or [])


def _values(raw: Mapping[str, Any]) -> dict[str, Any]:
    return dict((raw.get("fields") or {}).get("all") or {})


def _tags(raw: Mapping[str, Any]) -> set[str]:
    return {t["tag"] if isinstance(t, dict) else str(t) for t in raw.get("tags") or []}


def _email_dnc(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    return next((d for d in raw.get("doNotContact") or [] if d.get("channel") == "email"), None)


def _contact(raw: Mapping[str, Any]) -> Contact:
    values = _values(raw)
    return Contact(ref=str(raw["id"]), email=str(values.get("email") or ""),
                   name=full_name(values.get("firstname"), values.get("lastname")),
                   modified=parse_moment(raw.get("dateModified") or raw.get("dateAdded")))
