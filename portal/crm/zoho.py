"""Zoho CRM (API v8), OAuth2 through the token layer.

    [crm.main]
    type = "zoho"
    data_centre = "eu"              # com, eu, in, com.au, jp, ca, com.cn, sa
    client_id = "1000.XXXX"         # the secret is PORTAL_CRM_MAIN_CLIENT_SECRET
    redirect_uri = "https://example.org/preferencias/oauth/callback"
    # accounts_url = "https://accounts.zoho.eu"   # derived from data_centre
    # api_domain = "https://www.zohoapis.eu"      # else the token answer's api_domain
    module = "Contacts"
    triggers = ["workflow"]         # Zoho automations the portal's writes may start

Run `portal crm authorize main` once (or give a Self Client grant's refresh
token in PORTAL_CRM_MAIN_REFRESH_TOKEN). Each data centre has its own
accounts server and API host; the API host is the `api_domain` of the token
answer, so an EU account talks to accounts.zoho.eu and www.zohoapis.eu.

Subscription items: "field" (a boolean field's api_name), "option" (a
multi-select picklist's api_name and one of its values) and "tag". The
global opt-out is Email_Opt_Out. Search answers 204 when nothing matches
and may find several records.

New contacts are inserted with `POST /crm/v8/{module}`; Last_Name is
mandatory there, so a one-word name (or, without a name, the email's local
part) goes to Last_Name. Email is not unique in Zoho unless an administrator
marks it so: by default a taken email gets a second record, as in Zoho
itself; where it is unique, Zoho answers DUPLICATE_DATA and the adapter
returns the record that has it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests

from portal.crm.base import (
    Catalog,
    Change,
    Contact,
    CrmAdapter,
    CrmAuthError,
    CrmError,
    CrmFieldInfo,
    CrmItemInfo,
    CrmNotFound,
    FieldRef,
    FieldType,
    ItemRef,
    Profile,
)
from portal.crm.http import CrmHttp, ErrorFormat, choice_option, client_options
from portal.crm.oauth import OAuthApp, signed
from portal.crm.planning import (
    TypedValues,
    field_items,
    full_name,
    items_in,
    marked_note,
    merged_options,
    option_edits,
    parse_moment,
    record_columns,
    record_profile,
    record_values,
    same_email,
    split_name,
    tag_plan,
    taken_contact,
    unwritten_notes,
)

DATA_CENTRES = ("com", "eu", "in", "com.au", "jp", "ca", "com.cn", "sa")
OPT_OUT = "Email_Opt_Out"
SCOPES = ("ZohoCRM.modules.contacts.ALL,ZohoCRM.modules.notes.ALL,ZohoCRM.settings.fields.READ,"
          "ZohoCRM.settings.tags.ALL")
OAUTH = OAuthApp(token_url="{accounts}/oauth/v2/token",  # noqa: S106 (an address, not a secret)
                 authorize_url="{accounts}/oauth/v2/auth", scopes=SCOPES,
                 # Without these Zoho gives no refresh token, or none on a second consent.
                 authorize_params={"access_type": "offline", "prompt": "consent"})
# A record's refusal is an entry of "data"; the quota codes are Zoho's "too many
# requests" and "the day's API credits are spent": both wait, neither is a refusal.
ERRORS = ErrorFormat("Zoho", entries="data", field=("details", "api_name"),
                     reason="{code}: {message} ({field})",
                     quota=frozenset({"TOO_MANY_REQUESTS", "LIMIT_EXCEEDED", "LIMIT_REACHED"}))
TOKEN_REFUSED = frozenset({"INVALID_TOKEN", "OAUTH_SCOPE_MISMATCH"})
VALUES = TypedValues()  # booleans are JSON booleans, multi-select picklists JSON arrays
PORTAL_TYPES: dict[str, FieldType] = {
    "text": "text", "textarea": "textarea", "email": "email", "phone": "tel",
    "picklist": "select", "multiselectpicklist": "multiselect", "boolean": "checkbox",
    "date": "date",
}


class ZohoCrm(CrmAdapter):
    kind = "zoho"
    default_rate = "10/second"  # the limit the CRM documents
    item_kinds = frozenset({"field", "option", "tag"})
    supports_tags = True
    tag_name_limit = 25  # the Tag schema's maxLength in the CRM's v8 specification

    def __init__(self, name: str, options: Mapping[str, Any], state_dir: Path) -> None:
        super().__init__(name, options, state_dir)
        centre = choice_option(name, self.options, "data_centre", DATA_CENTRES)
        self.accounts_url = str(self.options.get("accounts_url",
                                                 f"https://accounts.zoho.{centre}")).rstrip("/")
        self.default_api = f"https://www.zohoapis.{centre}"
        self.module = str(self.options.get("module", "Contacts"))
        self.triggers = list(self.options.get("triggers", ["workflow"]))
        client = OAUTH.client(self, {"accounts": self.accounts_url})
        self.tokens, auth = signed(self, client, scheme="Zoho-oauthtoken",
                                   expired=ERRORS.says("INVALID_TOKEN", status=401))
        self.http = CrmHttp(name, self.default_api, auth=auth, errors=ERRORS, classify=self._classify,
                            credentials_hint=client.settings(), **client_options(self.options))

    def token_url_from_redirect(self, params: Mapping[str, str]) -> str | None:
        """The token URL of the accounts server Zoho names in the redirect
        (`accounts-server`), when it is a Zoho one or the configured one."""
        server = str(params.get("accounts-server") or "").rstrip("/")
        host = urlsplit(server).hostname or ""
        zoho_hosts = {f"accounts.zoho.{centre}" for centre in DATA_CENTRES}
        if server == self.accounts_url or (server.startswith("https://") and host in zoho_hosts
                                           and server == f"https://{host}"):
            return f"{server}/oauth/v2/token"
        return None

    def _api(self, path: str) -> str:
        base = self.options.get("api_domain") or self.tokens.value("api_domain") or self.default_api
        return f"{str(base).rstrip('/')}/crm/v8/{path.lstrip('/')}"

    # reading ----------------------------------------------------------------------

    def find_contacts(self, email: str) -> list[Contact]:
        wanted = email.strip()
        search = self._api(f"{self.module}/search")
        query = {"email": wanted, "fields": "Email,First_Name,Last_Name,Modified_Time",
                 "per_page": 200}

        def next_page(body: Any) -> str | None:
            info = body.get("info") or {}
            page = int(info.get("page") or 1) + 1
            return f"{search}?{urlencode({**query, 'page': page})}" if info.get("more_records") else None

        # A 204 (nobody has this email) ends the paging.
        return [_contact(r) for body in self.http.pages(search, next_page, params={**query, "page": 1})
                for r in body.get("data", []) if same_email(r.get("Email"), wanted)]

    def fetch_profile(
        self, contact: Contact, fields: Sequence[FieldRef], items: Sequence[ItemRef]
    ) -> Profile:
        record = self._record(contact.ref, [f.crm_field for f in fields], items)
        tags = {t.get("name") for t in record.get("Tag") or []}
        return record_profile(_contact(record), record, fields, items, VALUES.decode, OPT_OUT,
                              items_in(items, {"tag": tags}))

    def _record(self, ref: str, names: Sequence[str], items: Sequence[ItemRef]) -> dict[str, Any]:
        wanted = record_columns(names, items, "Email", "First_Name", "Last_Name", "Modified_Time",
                                OPT_OUT, *(["Tag"] if any(i.kind == "tag" for i in items) else []))
        body = self.http.json("GET", self._api(f"{self.module}/{quote(ref)}"),
                              params={"fields": ",".join(wanted)})
        if not body or not body.get("data"):  # 204 for an id that is not there
            raise CrmNotFound(f"No {self.module} record {ref} in Zoho '{self.name}'.", crm=self.name)
        record: dict[str, Any] = body["data"][0]
        return record

    def describe(self) -> Catalog:
        body = self.http.json("GET", self._api("settings/fields"), params={"module": self.module})
        fields = [_field_info(spec) for spec in body.get("fields", [])]
        tags = self.http.json("GET", self._api("settings/tags"), params={"module": self.module})
        names = tuple(t["name"] for t in (tags or {}).get("tags", []))
        items = [*field_items(fields, self.item_kinds, OPT_OUT),
                 *(CrmItemInfo(ItemRef("tag", n), n) for n in names)]
        return Catalog(fields=tuple(fields), items=tuple(items), tags=names)

    def check_access(self) -> None:
        self.http.json("GET", self._api("settings/fields"), params={"module": self.module})

    def endpoints(self) -> list[str]:
        return [self.tokens.client.token_url,
                str(self.options.get("api_domain") or self.default_api)]

    # writing ----------------------------------------------------------------------

    def create_contact(self, email: str, name: str = "") -> Contact:
        first, last = split_name(name, email, last_required=True)
        record = {"Email": email.strip(), "Last_Name": last}
        if first:
            record["First_Name"] = first
        answer, created = self.http.create(self._api(self.module), taken=_email_taken,
                                           json={"data": [record], "trigger": self.triggers})
        details = (ERRORS.entries_of(answer) or [{}])[0].get("details") or {}
        if not created:
            # Email made unique by an administrator: the record that has it is the contact.
            return taken_contact(self, email, str((details.get("duplicate_record") or {}).get("id")))
        return _contact({**record, "id": details["id"], "Modified_Time": details.get("Modified_Time")})

    def apply(self, change: Change) -> None:
        ref = change.contact_ref
        self.refuse_unknown_items(change)
        values = record_values(change, VALUES.encode, OPT_OUT)
        edits = option_edits(change)
        if edits:  # multi-select picklists change option by option, merged with what is there
            values.update(merged_options(edits, self._record(ref, sorted(edits), [])))
        if values:
            self.http.json("PUT", self._api(f"{self.module}/{quote(ref)}"),
                           json={"data": [values], "trigger": self.triggers})
        self._write_tags(ref, change)
        self._write_notes(ref, change)

    def _write_tags(self, ref: str, change: Change) -> None:
        add, remove = tag_plan(change)
        actions = self._api(f"{self.module}/{quote(ref)}/actions")
        # The specification's bodies: the record ids, and over_write beside the tags.
        if add:
            self.http.json("POST", f"{actions}/add_tags", json={
                "tags": [{"name": t} for t in add], "over_write": False, "ids": [ref]})
        if remove:
            self.http.json("POST", f"{actions}/remove_tags", json={
                "tags": [{"name": t} for t in remove], "ids": [ref]})

    def _write_notes(self, ref: str, change: Change) -> None:
        def texts() -> list[str]:
            existing = self.http.json("GET", self._api(f"{self.module}/{quote(ref)}/Notes"),
                                      params={"fields": "Note_Title,Note_Content", "per_page": 200})
            return [str(n.get("Note_Content") or "") for n in (existing or {}).get("data", [])]

        notes = unwritten_notes(change, texts)
        if notes:
            self.http.json("POST", self._api("Notes"), json={"data": [
                {"Note_Title": note.title, "Note_Content": marked_note(change, note, with_title=False),
                 "Parent_Id": {"module": {"api_name": self.module}, "id": ref}} for note in notes]})

    # errors -------------------------------------------------------------------------

    def _classify(self, response: requests.Response) -> CrmError | None:
        """Zoho's codes the shared rules do not know: a token it no longer takes,
        and a write to a record id that is not there (a refusal of "id")."""
        refused = sorted(ERRORS.codes(response) & TOKEN_REFUSED)
        if response.status_code == 401 and refused:
            return CrmAuthError(f"Zoho refused the token of '{self.name}' ({refused[0]}): check the "
                                f"scopes and run `portal crm authorize {self.name}`.", crm=self.name)
        if response.status_code == 400 and any(field == "id" for _, field in ERRORS.named(response)):
            return CrmNotFound(f"No {self.module} record in Zoho '{self.name}' with that id.",
                               crm=self.name)
        return None


def _email_taken(response: requests.Response) -> bool:
    return ("DUPLICATE_DATA", "Email") in ERRORS.named(response)


def _contact(record: Mapping[str, Any]) -> Contact:
    return Contact(ref=str(record["id"]), email=record.get("Email") or "",
                   modified=parse_moment(record.get("Modified_Time")),
                   name=full_name(record.get("First_Name"), record.get("Last_Name")))


def _field_info(spec: Mapping[str, Any]) -> CrmFieldInfo:
    name, kind = spec["api_name"], spec.get("data_type", "")
    choices = tuple((p["actual_value"], p.get("display_value") or p["actual_value"])
                    for p in spec.get("pick_list_values") or [] if p.get("type") != "unused")
    return CrmFieldInfo(key=name, label=spec.get("display_label") or spec.get("field_label") or name,
                        type=kind, portal_type=PORTAL_TYPES.get(kind), choices=choices,
                        custom=bool(spec.get("custom_field")),
                        read_only=bool(spec.get("read_only") or spec.get("field_read_only")))
