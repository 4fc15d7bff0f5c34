"""ActiveCampaign (API v3) adapter. Settings, items, "unsubscribe from all": docs/crm/activecampaign.md.

    [crm.main]
    type = "activecampaign"
    base_url = "https://youraccount.api-us1.com"   # copy it from Settings → Developer
    # secret: PORTAL_CRM_MAIN_API_TOKEN (the API key shown on the same page)

Fields are addressed by `email`, `firstName`, `lastName`, `phone` or a custom
field's numeric id; items are lists (`kind = "list"`, ref = list id) and tags
(`kind = "tag"`, ref = tag name).

The fewest calls the v3 reference allows (api-evangelist/activecampaign,
openapi/_original/activecampaign-v3.json; docs/crm/activecampaign.md has the
table): "Retrieve a contact" side-loads its values and list memberships
but only links its contactTags, so a read takes 1 call, 2 with tags shown;
`GET /contacts?ids[]=` lists contacts without their values, so contacts are
read one at a time. A write takes 1 call for all fields, 1 per list, 1 per
tag added (its id searched and, if missing, made once per adapter), 1 per
tag removed after reading contactTags, 1 for the notes (written as one
note) and 1 per automation; a retry reads contactTags and the notes first
(1 each), so nothing is written twice. A profile-page visit that saves two
fields, two lists and a tag: 2 + 5 calls. The queue writes the saves of
many contacts with a bulk import (portal.crm.activecampaign_import): 3 calls
each for that save, and a share of the import. It has no global opt-out in v3:
"unsubscribe from all" leaves the lists the change names (those the
configuration shows) and no other.

New contacts are made with `POST /api/3/contacts`. Email is unique per
account: when it is taken, ActiveCampaign answers 422 `duplicate` and the
adapter returns the contact that already has it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from portal.crm import activecampaign_import as bulk
from portal.crm.base import (
    Catalog,
    Change,
    Contact,
    CrmAdapter,
    CrmError,
    CrmFieldInfo,
    CrmItemInfo,
    FieldRef,
    FieldType,
    ItemRef,
    Note,
    Profile,
    Value,
)
from portal.crm.calls import is_first_attempt
from portal.crm.http import CrmHttp, ErrorFormat, base_url_option, client_options
from portal.crm.planning import (
    TextValues,
    full_name,
    items_in,
    items_of,
    marked_note,
    notes_to_write,
    one_note,
    parse_moment,
    same_email,
    split_name,
    tag_plan,
    taken_contact,
    write_notes,
)

STANDARD = ("email", "firstName", "lastName", "phone")
STANDARD_FIELDS = (("email", "Email", "email", "email"), ("firstName", "First name", "text", "text"),
                   ("lastName", "Last name", "text", "text"), ("phone", "Phone", "text", "tel"))
SUBSCRIBED = "1"
UNKNOWN_TAG_SECONDS = 300.0
RESUBSCRIBE_SOURCE = 4  # lets a contact who unsubscribed themselves opt back in
ERRORS = ErrorFormat("ActiveCampaign")  # a 422 lists {title, detail, code} under "errors"
# A multi-value field's options stand between "||"; an unticked box is empty.
VALUES = TextValues(separator="||", no="")
PORTAL_TYPES: dict[str, FieldType] = {
    "text": "text", "hidden": "text", "textarea": "textarea", "date": "date",
    "dropdown": "select", "radio": "select", "listbox": "multiselect", "checkbox": "multiselect",
}


class ActiveCampaignCrm(CrmAdapter):
    kind = "activecampaign"
    default_rate = "5/second"  # the limit the CRM documents
    item_kinds = frozenset({"list", "tag"})
    supports_tags = True

    def __init__(self, name: str, options: Mapping[str, Any], state_dir: Path) -> None:
        super().__init__(name, options, state_dir)
        self.base_url = base_url_option("ActiveCampaign", name, self.options, "/api/3")
        env = self.secret_env_name("api_token")
        self.http = CrmHttp(
            name, f"{self.base_url}/api/3",
            headers={"Api-Token": self.secret("api_token")},
            credentials_hint=f"the API key in {env} (ActiveCampaign: Settings → Developer)",
            # ActiveCampaign answers 403 to a wrong key as well as to a missing permission.
            permissions_hint=(f"the API key in {env} (Settings → Developer), and that its user's "
                              "group may view, add and edit contacts, lists and tags"),
            **client_options(self.options),
        )
        self._tag_ids: dict[str, str] = {}
        self._tag_unknown: dict[str, float] = {}  # tag name -> when to search for it again
        self._field_meta: dict[str, dict[str, Any]] | None = None

    # --- reading -------------------------------------------------------------

    def find_contacts(self, email: str) -> list[Contact]:
        body = self.http.json("GET", "contacts", params={"email": email.strip()})
        return [_contact(c) for c in body.get("contacts", []) if same_email(c.get("email"), email)]

    def fetch_profile(
        self, contact: Contact, fields: Sequence[FieldRef], items: Sequence[ItemRef]
    ) -> Profile:
        data = self.http.json("GET", f"contacts/{contact.ref}")
        head = data["contact"]
        # Custom values are keyed by their field's numeric id, standard ones by name.
        stored = {fv["field"]: fv.get("value") for fv in data.get("fieldValues", [])}
        stored.update({name: head.get(name) for name in STANDARD})
        values = {ref.crm_field: _decode(ref.type, stored.get(ref.crm_field)) for ref in fields}
        lists = {cl["list"] for cl in data.get("contactLists", []) if cl.get("status") == SUBSCRIBED}
        return Profile(contact=_contact(head), values=values, subscribed=items_in(
            items, {"list": lists, "tag": self._tag_names(contact.ref, items)}))

    def _tag_names(self, ref: str, items: Sequence[ItemRef]) -> set[str]:
        """Which asked tags the contact has: contactTags, and a search per tag not known yet."""
        asked = {i.ref for i in items if i.kind == "tag"}
        if not asked:
            return set()
        ids = {self._tag_id(name): name for name in sorted(asked)}
        return {ids[str(ct["tag"])] for ct in self._contact_tags(ref) if str(ct["tag"]) in ids}

    def read_cost(self, fields: Sequence[FieldRef], items: Sequence[ItemRef]) -> int:
        tags = {i.ref for i in items if i.kind == "tag"}
        return 1 + bool(tags) + self._searches(tags)  # the contact, its contactTags, tag searches

    def _searches(self, names: Iterable[str]) -> int:
        """Searches `_tag_id` makes for these tags: those not known yet, unless
        a search found nothing a short while ago."""
        now = time.monotonic()
        return sum(1 for name in set(names)
                   if name not in self._tag_ids and self._tag_unknown.get(name, 0) <= now)

    def _contact_tags(self, ref: str) -> list[dict[str, Any]]:
        return list(self.http.json("GET", f"contacts/{ref}/contactTags").get("contactTags", []))

    def _tag_id(self, name: str, create: bool = False) -> str | None:
        """A tag's id by name, cached: tag ids never change."""
        if name not in self._tag_ids and self._tag_unknown.get(name, 0) <= time.monotonic():
            for tag in self._every("tags", "tags", search=name):
                self._tag_ids.setdefault(tag["tag"], str(tag["id"]))
            # A tag nobody made yet: asked again after a while, not on every page.
            self._tag_unknown[name] = time.monotonic() + UNKNOWN_TAG_SECONDS
        if name not in self._tag_ids and create:
            made = self.http.json("POST", "tags", json={"tag": {"tag": name, "tagType": "contact",
                                                                "description": ""}})
            self._tag_ids[name] = str(made["tag"]["id"])
        return self._tag_ids.get(name)

    def _every(self, path: str, key: str, **params: str) -> list[dict[str, Any]]:
        """Every row of a catalogue, page by page (`limit` is at most 100)."""
        return [row for body in self.http.offset_pages(path, key, params=params)
                for row in body.get(key, [])]

    def _fields(self) -> dict[str, dict[str, Any]]:
        """Custom field definitions with their options, cached for the adapter's life."""
        if self._field_meta is None:
            pages = list(self.http.offset_pages("fields", "fields"))
            options: dict[str, list[dict[str, Any]]] = {}
            for option in (o for body in pages for o in body.get("fieldOptions", [])):
                options.setdefault(str(option["field"]), []).append(option)
            self._field_meta = {
                str(f["id"]): {**f, "choices": options.get(str(f["id"]), [])}
                for body in pages for f in body.get("fields", [])
            }
        return self._field_meta

    # --- writing -------------------------------------------------------------

    def create_contact(self, email: str, name: str = "") -> Contact:
        first, last = split_name(name)
        taken = ERRORS.says("duplicate", status=422)
        answer, created = self.http.create("contacts", taken=taken, json={
            "contact": {"email": email.strip(), "firstName": first, "lastName": last}})
        if not created:
            return taken_contact(self, email)
        return _contact(answer.json()["contact"])

    def apply(self, change: Change) -> None:
        self.refuse_unknown_items(change)
        change = one_note(change)
        ref = change.contact_ref
        if change.fields:
            self._write_fields(ref, change)
        self._write_lists(ref, change)
        add, remove = tag_plan(change)
        if add or remove:
            self._write_tags(ref, add, remove)
        self._write_notes(ref, change)

    # Queued changes of many contacts: a bulk import (portal.crm.activecampaign_import).
    bulk_size = bulk.MOST

    def apply_many(self, changes: Sequence[Change]) -> dict[str, CrmError | None]:
        """What a bulk import can write for these contacts, in one import and
        its status polls when at least 10 changes have such a part (after
        reading their contacts' emails, a hundred a call); then,
        call by call, what is left of those (lists joined, notes,
        automations) and the changes an import cannot carry at all."""
        done: dict[str, CrmError | None] = {}
        for change in changes:
            try:
                self.refuse_unknown_items(change)
            except CrmError as exc:
                done[change.id] = exc
        ready = [c for c in changes if c.id not in done]
        rows = {c.id: row for c in ready if (row := bulk.import_row(c, self._import_fields))}
        if len(rows) >= bulk.LEAST:  # only contacts that still have the change's email
            held = bulk.emails(self.http, [c.contact_ref for c in ready if c.id in rows])
            rows = {c.id: rows[c.id] for c in ready
                    if c.id in rows and same_email(held.get(c.contact_ref), c.email)}
        imported = self._import(ready, rows) if len(rows) >= bulk.LEAST else {}
        done.update({key: error for key, error in imported.items() if error is not None})
        rest = [bulk.rest_of(c) if c.id in imported else c for c in ready if c.id not in done]
        done.update(super().apply_many(rest))
        return done

    def _import(self, changes: Sequence[Change], rows: Mapping[str, dict[str, Any]]
                ) -> dict[str, CrmError | None]:
        """Each imported change's result, by id; none where the import was
        refused as a whole (each change then goes call by call, and shows
        its own error if it has one)."""
        try:
            found = bulk.run(self.http, self.name, list(rows.values()))
        except CrmError as exc:
            return {key: exc for key in rows} if exc.transient else {}
        if found is None:
            return {}
        return {c.id: bulk.outcome(c, *found, self.name) for c in changes if c.id in rows}

    def _import_fields(self, change: Change) -> list[dict[str, Any]]:
        return [{"id": int(name) if name.isdigit() else name, "value": value}
                for name, value in self._custom(change)]

    def write_cost(self, change: Change) -> int:
        # The contact; each list; each tag, with its search and creation while
        # its id is not known, after reading contactTags where a tag is removed
        # or an earlier attempt may have added some; the one note, after reading
        # the notes on a retry; each automation. "Unsubscribe from all" leaves
        # the lists the change names, no other.
        change = one_note(change)
        add, remove = tag_plan(change)
        retry = not is_first_attempt()
        notes = len(notes_to_write(change))
        fields = bool(change.fields) + (self._field_meta is None and any(
            u.value is True for u in change.fields))  # a ticked box reads its option
        tags = len(add) + len(remove) + bool(remove or (add and retry)) \
            + self._searches([*add, *remove]) + sum(1 for name in add if name not in self._tag_ids)
        return (fields + sum(map(len, items_of(change, "list"))) + tags
                + notes + bool(notes and retry) + len(change.automations))

    def _write_notes(self, ref: str, change: Change) -> None:
        def texts() -> list[str]:
            return [n.get("note", "") for n in
                    self.http.json("GET", f"contacts/{ref}/notes").get("notes", [])]

        def post(note: Note) -> None:
            self.http.json("POST", "notes", json={"note": {
                "note": marked_note(change, note), "relid": ref, "reltype": "Subscriber"}})

        def start(automation: str) -> None:
            self.http.json("POST", "contactAutomations", json={
                "contactAutomation": {"contact": ref, "automation": automation}})

        write_notes(change, texts, post, start)

    def _write_fields(self, ref: str, change: Change) -> None:
        contact: dict[str, Any] = {u.field.crm_field: "" if u.value is None else str(u.value)
                                   for u in change.fields if u.field.crm_field in STANDARD}
        custom = [{"field": name, "value": value} for name, value in self._custom(change)]
        if custom:
            contact["fieldValues"] = custom
        self.http.json("PUT", f"contacts/{ref}", json={"contact": contact})

    def _custom(self, change: Change) -> list[tuple[str, str]]:
        """The change's custom field ids with their values as ActiveCampaign spells them."""
        return [(u.field.crm_field, self._encode(u.field, u.value)) for u in change.fields
                if u.field.crm_field not in STANDARD]

    def _encode(self, ref: FieldRef, value: Value) -> str:
        if value is True:
            # A yes/no box is an ActiveCampaign checkbox field with one option.
            choices = self._fields().get(ref.crm_field, {}).get("choices") or [{"value": "Yes"}]
            return f"||{choices[0]['value']}||"
        text = str(VALUES.encode(value))
        return f"||{text}||" if text and isinstance(value, list) else text

    def _write_lists(self, ref: str, change: Change) -> None:
        join, leave = items_of(change, "list")
        for item in join:
            # Status 1 subscribes, and re-subscribes a contact who had left: the
            # contact asks for it here, so the source says so (sourceid 4).
            self.http.json("POST", "contactLists", json={"contactList": {
                "list": item.ref, "contact": ref, "status": 1, "sourceid": RESUBSCRIBE_SOURCE}})
        # "Unsubscribe from all" names the lists it leaves: no other list is touched.
        for list_id in sorted({i.ref for i in leave} - {i.ref for i in join}):
            self.http.json("POST", "contactLists", json={
                "contactList": {"list": list_id, "contact": ref, "status": 2}})

    def _write_tags(self, ref: str, add: list[str], remove: list[str]) -> None:
        # The association ids to delete, and the tags an earlier attempt added.
        fresh = is_first_attempt() and not remove
        have = {} if fresh else {str(ct["tag"]): str(ct["id"]) for ct in self._contact_tags(ref)}
        for name in add:
            tag_id = self._tag_id(name, create=True)
            if tag_id not in have:
                self.http.json("POST", "contactTags", json={"contactTag": {"contact": ref,
                                                                            "tag": tag_id}})
        for name in remove:
            tag_id = self._tag_id(name)
            if tag_id in have:
                # The association id, not the tag id, is what gets deleted.
                self.http.request("DELETE", f"contactTags/{have[tag_id]}", ok=(404,))

    # --- set-up tools ----------------------------------------------------------

    def describe(self) -> Catalog:
        self._field_meta = None
        meta = self._fields()
        standard = tuple(CrmFieldInfo(*info) for info in STANDARD_FIELDS)
        custom = tuple(
            CrmFieldInfo(
                key=fid, label=f.get("title", ""), type=f.get("type", ""),
                portal_type=("checkbox" if f.get("type") == "checkbox" and len(f["choices"]) == 1
                             else PORTAL_TYPES.get(f.get("type", ""))),
                choices=tuple((str(c["value"]), str(c.get("label") or c["value"]))
                              for c in f["choices"]),
                custom=True,
            )
            for fid, f in meta.items()
        )
        lists = self._every("lists", "lists")
        # Template tags label email templates, not contacts.
        tags = [t for t in self._every("tags", "tags") if t.get("tagType", "contact") == "contact"]
        items = [CrmItemInfo(ItemRef("list", str(x["id"])), x.get("name", "")) for x in lists]
        items += [CrmItemInfo(ItemRef("tag", t["tag"]), t["tag"]) for t in tags]
        return Catalog(fields=standard + custom, items=tuple(items),
                       tags=tuple(t["tag"] for t in tags))

    def automations(self) -> list[tuple[str, str]]:
        """(id, name) of the account's automations, for `portal fields`."""
        found = self._every("automations", "automations")
        return [(str(a["id"]), a.get("name", "")) for a in found]

    def check_access(self) -> None:
        self.http.json("GET", "users/me")
        for path in ("contacts", "lists", "fields", "tags"):
            self.http.json("GET", path, params={"limit": 1})

    def endpoints(self) -> list[str]:
        return [self.base_url]


def _contact(raw: Mapping[str, Any]) -> Contact:
    return Contact(ref=str(raw["id"]), email=raw.get("email", ""),
                   modified=parse_moment(raw.get("udate") or raw.get("cdate")),
                   name=full_name(raw.get("firstName"), raw.get("lastName")))


def _decode(kind: str, raw: Any) -> Value:
    if kind == "checkbox":  # ticked: the box's one option stands between the "||"
        return bool(raw and str(raw).strip("|"))
    return VALUES.decode(kind, raw)
