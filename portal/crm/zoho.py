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

Run `flask crm authorize main` once (or give a Self Client grant's refresh
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
from urllib.parse import quote, urlsplit

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
    CrmRateLimited,
    CrmValidationError,
    FieldRef,
    FieldType,
    ItemRef,
    Profile,
    Value,
)
from portal.crm.http import CrmHttp, client_options, crm_reason, rate_limit_wait, redact
from portal.crm.oauth import BearerAuth, OAuthClient, TokenManager
from portal.crm.planning import (
    marked_note,
    merge_options,
    note_written,
    option_edits,
    parse_moment,
    same_email,
    split_name,
    tag_plan,
    taken_contact,
)

DATA_CENTRES = ("com", "eu", "in", "com.au", "jp", "ca", "com.cn", "sa")
OPT_OUT = "Email_Opt_Out"
SCOPES = ("ZohoCRM.modules.contacts.ALL,ZohoCRM.modules.notes.ALL,ZohoCRM.settings.fields.READ,"
          "ZohoCRM.settings.tags.ALL")
# Codes Zoho uses for "too many requests" and for the day's API credits being spent.
LIMIT_CODES = {"TOO_MANY_REQUESTS", "LIMIT_EXCEEDED", "LIMIT_REACHED"}
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

    def __init__(self, name: str, options: Mapping[str, Any], state_dir: Path) -> None:
        super().__init__(name, options, state_dir)
        centre = str(self.options.get("data_centre", "com"))
        if centre not in DATA_CENTRES:
            raise CrmConfigError(f"crm.{name}.data_centre must be one of {', '.join(DATA_CENTRES)}.",
                                 crm=name)
        self.accounts_url = str(self.options.get("accounts_url",
                                                 f"https://accounts.zoho.{centre}")).rstrip("/")
        self.default_api = f"https://www.zohoapis.{centre}"
        self.module = str(self.options.get("module", "Contacts"))
        self.triggers = list(self.options.get("triggers", ["workflow"]))
        timeouts = client_options(self.options)
        self.tokens = TokenManager(self.oauth_client(), state_dir, timeout=(
            timeouts["connect_timeout"], timeouts["read_timeout"]))
        auth = BearerAuth(self.tokens, scheme="Zoho-oauthtoken", expired=_token_expired)
        self.http = CrmHttp(name, self.default_api, auth=auth, classify=self._classify,
                            credentials_hint=f"client_id and {self.secret_env_name('client_secret')}",
                            **timeouts)

    def oauth_client(self) -> OAuthClient:
        return OAuthClient(
            crm=self.name, kind=self.kind, token_url=f"{self.accounts_url}/oauth/v2/token",
            authorize_url=f"{self.accounts_url}/oauth/v2/auth",
            client_id=str(self.options.get("client_id", "")),
            client_secret=self.secret("client_secret"),
            scope=str(self.options.get("scopes", SCOPES)),
            redirect_uri=str(self.options.get("redirect_uri", "")),
            bootstrap_refresh_token=self.optional_secret("refresh_token"),
            # Without these Zoho gives no refresh token, or none on a second consent.
            authorize_params={"access_type": "offline", "prompt": "consent"},
        )

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
        found: list[Contact] = []
        page = 1
        while True:
            body = self.http.json("GET", self._api(f"{self.module}/search"), params={
                "email": wanted, "fields": "Email,First_Name,Last_Name,Modified_Time",
                "page": page, "per_page": 200})
            if not body:  # 204: nobody has this email
                break
            found += [_contact(r) for r in body.get("data", []) if same_email(r.get("Email"), wanted)]
            if not (body.get("info") or {}).get("more_records"):
                break
            page += 1
        return found

    def fetch_profile(
        self, contact: Contact, fields: Sequence[FieldRef], items: Sequence[ItemRef]
    ) -> Profile:
        record = self._record(contact.ref, [f.crm_field for f in fields], items)
        values = {f.crm_field: _from_zoho(record.get(f.crm_field), f.type) for f in fields}
        tags = {t.get("name") for t in record.get("Tag") or []}
        subscribed = frozenset(i for i in items if (
            (i.kind == "field" and record.get(i.ref) is True)
            or (i.kind == "option" and i.value in (record.get(i.ref) or []))
            or (i.kind == "tag" and i.ref in tags)))
        return Profile(contact=_contact(record), values=values, subscribed=subscribed,
                       opted_out_all=record.get(OPT_OUT) is True)

    def _record(self, ref: str, names: Sequence[str], items: Sequence[ItemRef]) -> dict[str, Any]:
        wanted = ["Email", "First_Name", "Last_Name", "Modified_Time", OPT_OUT, *names,
                  *(i.ref for i in items if i.kind in ("field", "option"))]
        if any(i.kind == "tag" for i in items):
            wanted.append("Tag")
        body = self.http.json("GET", self._api(f"{self.module}/{quote(ref)}"),
                              params={"fields": ",".join(dict.fromkeys(wanted))})
        if not body or not body.get("data"):  # 204 for an id that is not there
            raise CrmNotFound(f"No {self.module} record {ref} in Zoho '{self.name}'.", crm=self.name)
        return body["data"][0]

    def describe(self) -> Catalog:
        body = self.http.json("GET", self._api("settings/fields"), params={"module": self.module})
        fields, items = [], []
        for spec in body.get("fields", []):
            name = spec["api_name"]
            label = spec.get("display_label") or spec.get("field_label") or name
            choices = tuple((p["actual_value"], p.get("display_value") or p["actual_value"])
                            for p in spec.get("pick_list_values") or [] if p.get("type") != "unused")
            read_only = bool(spec.get("read_only") or spec.get("field_read_only"))
            kind = spec.get("data_type", "")
            fields.append(CrmFieldInfo(key=name, label=label, type=kind,
                                       portal_type=PORTAL_TYPES.get(kind), choices=choices,
                                       custom=bool(spec.get("custom_field")), read_only=read_only))
            if read_only or name == OPT_OUT:
                continue
            if kind == "boolean":
                items.append(CrmItemInfo(ItemRef("field", name), label))
            elif kind == "multiselectpicklist":
                items += [CrmItemInfo(ItemRef("option", name, value), f"{label}: {text}")
                          for value, text in choices]
        tags = self.http.json("GET", self._api("settings/tags"), params={"module": self.module})
        names = tuple(t["name"] for t in (tags or {}).get("tags", []))
        items += [CrmItemInfo(ItemRef("tag", n), n) for n in names]
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
        details = (_body(answer).get("data") or [{}])[0].get("details") or {}
        if not created:
            # Email made unique by an administrator: the record that has it is the contact.
            return taken_contact(self, email, str((details.get("duplicate_record") or {}).get("id")))
        return _contact({**record, "id": details["id"], "Modified_Time": details.get("Modified_Time")})

    def apply(self, change: Change) -> None:
        ref = change.contact_ref
        self.refuse_unknown_items(change)
        values: dict[str, Any] = {u.field.crm_field: _to_zoho(u.value, u.field.type)
                                  for u in change.fields}
        for item in change.join:
            if item.kind == "field":
                values[item.ref] = True
        for item in change.leave:
            if item.kind == "field":
                values[item.ref] = False
        if change.unsubscribe_all is not None:
            values[OPT_OUT] = change.unsubscribe_all
        edits = option_edits(change)
        if edits:
            current = self._record(ref, sorted(edits), [])
            for name, (add, drop) in edits.items():
                values[name] = merge_options(list(current.get(name) or []), add, drop)
        if values:
            self.http.json("PUT", self._api(f"{self.module}/{quote(ref)}"),
                           json={"data": [values], "trigger": self.triggers})
        add, remove = tag_plan(change)
        if add:
            self.http.json("POST", self._api(f"{self.module}/{quote(ref)}/actions/add_tags"),
                           params={"over_write": "false"}, json={"tags": [{"name": t} for t in add]})
        if remove:
            self.http.json("POST", self._api(f"{self.module}/{quote(ref)}/actions/remove_tags"),
                           json={"tags": [{"name": t} for t in remove]})
        self._write_notes(ref, change)

    def _write_notes(self, ref: str, change: Change) -> None:
        if not change.notes:
            return
        existing = self.http.json("GET", self._api(f"{self.module}/{quote(ref)}/Notes"),
                                  params={"fields": "Note_Title,Note_Content", "per_page": 200})
        texts = [str(n.get("Note_Content") or "") for n in (existing or {}).get("data", [])]
        if note_written(change, None, texts):
            return
        self.http.json("POST", self._api("Notes"), json={"data": [
            {"Note_Title": note.title, "Note_Content": marked_note(change, note, with_title=False),
             "Parent_Id": {"module": {"api_name": self.module}, "id": ref}}
            for note in change.notes]})

    # errors -------------------------------------------------------------------------

    def _classify(self, response: requests.Response) -> CrmError | None:
        body = _body(response)
        code = str(body.get("code") or "")
        record = (body.get("data") or [{}])[0] if isinstance(body.get("data"), list) else {}
        code = code or str(record.get("code") or "")
        if code in LIMIT_CODES:
            # Per-minute concurrency or the day's API credits: both wait, neither is a refusal.
            return CrmRateLimited(f"Zoho '{self.name}' is limiting the portal ({code}).",
                                  crm=self.name, retry_after=rate_limit_wait(response))
        if response.status_code == 401 and code in ("INVALID_TOKEN", "OAUTH_SCOPE_MISMATCH"):
            return CrmAuthError(f"Zoho refused the token of '{self.name}' ({code}): check the "
                                f"scopes and run `flask crm authorize {self.name}`.", crm=self.name)
        if response.status_code == 400 and record:
            details = record.get("details") or {}
            field = str(details.get("api_name") or "")
            if field == "id":
                return CrmNotFound(f"No {self.module} record in Zoho '{self.name}' with that id.",
                                   crm=self.name)
            reason = redact(f"{record.get('code')}: {record.get('message')} ({field})",
                            self.http.secrets)
            return CrmValidationError(
                f"Zoho refused {field or 'the change'}: {crm_reason(response, self.http.secrets)}",
                crm=self.name, reason=reason, field=field)
        return None


def _body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _email_taken(response: requests.Response) -> bool:
    record = (_body(response).get("data") or [{}])[0]
    return record.get("code") == "DUPLICATE_DATA" and \
        (record.get("details") or {}).get("api_name") == "Email"


def _token_expired(response: requests.Response) -> bool:
    return response.status_code == 401 and _body(response).get("code") == "INVALID_TOKEN"


def _contact(record: Mapping[str, Any]) -> Contact:
    name = " ".join(p for p in (record.get("First_Name"), record.get("Last_Name")) if p)
    return Contact(ref=str(record["id"]), email=record.get("Email") or "",
                   modified=parse_moment(record.get("Modified_Time")), name=name)


def _from_zoho(value: Any, kind: str) -> Value:
    if value is None or value == "" or value == []:
        return None
    if kind == "checkbox":
        return bool(value)
    if kind == "multiselect":
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    if isinstance(value, bool):
        return value
    return str(value)


def _to_zoho(value: Value, kind: str) -> Any:
    if kind == "checkbox" and value is None:
        return False
    if kind == "multiselect" and value is None:
        return []
    if value == "":
        return None
    return value
