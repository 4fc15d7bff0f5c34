"""Salesforce: REST API (SOQL, sObject rows, composite writes), OAuth2 through the token
layer, calls to the token answer's `instance_url`; settings: docs/crm/salesforce.md.
`soql()` quotes every value as the SOQL reference says: no user input joins a query unescaped."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from string import Formatter
from typing import Any
from urllib.parse import quote

from portal.crm import base, planning
from portal.crm.http import CrmHttp, ErrorFormat, client_options
from portal.crm.oauth import OAuthApp, OAuthClient, jwt_assertion, signed

OPT_OUT = "HasOptedOutOfEmail"
OBJECTS = ("Contact", "Lead")
IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# SOQL reference, "Quoted String Escape Sequences" (the same table as simple-salesforce).
SOQL_ESCAPES = str.maketrans({"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r",
                              "\t": "\\t", "\b": "\\b", "\f": "\\f"})
PORTAL_TYPES: dict[str, base.FieldType] = {"string": "text", "textarea": "textarea", "email": "email",
    "phone": "tel", "picklist": "select", "multipicklist": "multiselect", "boolean": "checkbox",
    "date": "date"}
BASE_COLUMNS = ("Id", "Email", "FirstName", "LastName", "LastModifiedDate")
# The queries, with every value bound by soql(): never joined to user input by hand.
FIND = ("SELECT {columns:name} FROM {sobject:name} WHERE Email = {email} "
        "ORDER BY LastModifiedDate DESC LIMIT 100")
FIND_LEAD = ("SELECT {columns:name} FROM {sobject:name} WHERE Email = {email} "
             "AND IsConverted = false ORDER BY LastModifiedDate DESC LIMIT 100")
RECORDS = "SELECT {names:name} FROM {sobject:name} WHERE Id IN {refs}"
RECORDS_WITH_CAMPAIGNS = ("SELECT {names:name}, (SELECT Id, CampaignId FROM CampaignMembers) "
                          "FROM {sobject:name} WHERE Id IN {refs}")
NOTES = ("SELECT Id, TextPreview FROM ContentNote WHERE Id IN "
         "(SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = {ref})")
OAUTH = OAuthApp(token_url="{login}/services/oauth2/token",  # noqa: S106 (an address, not a secret)
                 authorize_url="{login}/services/oauth2/authorize", scopes="api refresh_token")
# Errors are a JSON array of {message, errorCode, fields}. REQUEST_LIMIT_EXCEEDED: the
# org's rolling 24-hour API allocation is spent: slow down, do not re-authorise.
ERRORS = ErrorFormat("Salesforce", entries="", code="errorCode", field=("fields", 0),
                     reason="{errorCode}: {message}", quota=frozenset({"REQUEST_LIMIT_EXCEEDED"}))
VALUES = planning.TypedValues(separator=";")  # a multi-select picklist is its values joined by ";"
COMPOSITE_MOST = 24  # subrequests in one composite call (25 at most), an even number
Write = tuple[str, str, str, Any]  # referenceId, method, path under the API version, body


def soql_literal(value: Any) -> str:
    """A Python value as a SOQL literal, quoted and escaped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return "(" + ",".join(soql_literal(v) for v in value) + ")"
    return "'" + str(value).translate(SOQL_ESCAPES) + "'"


class _SoqlFormatter(Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "name":  # an identifier from configuration, never user input
            names = value if isinstance(value, list | tuple) else [value]
            for name in names:
                if not IDENTIFIER.fullmatch(str(name)):
                    raise base.CrmConfigError(f"'{name}' is not a Salesforce field or object name.")
            return ", ".join(map(str, names))
        return soql_literal(value)


def soql(template: str, **values: Any) -> str:
    """Bind values into a SOQL template: `{email}` becomes a quoted literal,
    `{fields:name}` a checked list of identifiers."""
    return _SoqlFormatter().vformat(template, (), values)


class SalesforceCrm(base.CrmAdapter):
    kind = "salesforce"
    default_rate = None  # Salesforce has a daily allocation, not a rate
    item_kinds = frozenset({"field", "option", "campaign"})
    supports_tags = False  # no native tags: a multi-select picklist can stand in (tags_field)

    def __init__(self, name: str, options: Mapping[str, Any], state_dir: Path) -> None:
        super().__init__(name, options, state_dir)
        self.api_version = str(self.options.get("api_version", "62.0"))
        if not re.fullmatch(r"\d{2,3}\.0", self.api_version):
            raise base.CrmConfigError(f'crm.{name}.api_version must look like "62.0".', crm=name)
        self.objects = tuple(self.options.get("objects", ("Contact",)))
        if not self.objects or any(o not in OBJECTS for o in self.objects):
            raise base.CrmConfigError(f"crm.{name}.objects may hold Contact and Lead.", crm=name)
        self.login_url = str(self.options.get("login_url", "https://login.salesforce.com")).rstrip("/")
        self.campaign_status = str(self.options.get("campaign_status", "Responded"))
        self.tags_field = str(self.options.get("tags_field", ""))
        self.supports_tags = bool(self.tags_field)  # type: ignore[misc]
        client = self.oauth_client()
        self.tokens, auth = signed(self, client, expired=ERRORS.says("INVALID_SESSION_ID", status=401))
        self.http = CrmHttp(name, self.login_url, auth=auth, errors=ERRORS,
                            credentials_hint=client.settings(), **client_options(self.options))

    def oauth_client(self) -> OAuthClient:
        grant = str(self.options.get("grant", "jwt_bearer"))
        jwt = grant == "jwt_bearer"
        return OAUTH.client(
            self, {"login": self.login_url}, grant=grant, assertion=self._assertion if jwt else None,
            hint=(f"client_id, username and {self.secret_env_name('private_key')} (the certificate "
                  "uploaded to the connected app, the user pre-authorized)") if jwt else "",
            # Salesforce sends no expires_in: sessions last as the org says; a 401 refreshes.
            default_lifetime=float(self.options.get("session_seconds", 3600)))

    def _assertion(self) -> str:
        pem = self.optional_secret("private_key")
        if not pem:
            path = self.secret("private_key_file")
            try:
                pem = Path(path).read_text(encoding="utf-8")
            except OSError as exc:
                raise base.CrmConfigError(f"Cannot read the private key named by "
                                     f"{self.secret_env_name('private_key_file')}: "
                                     f"{exc.strerror}.", crm=self.name) from exc
        username = str(self.options.get("username", ""))
        if not username:
            raise base.CrmConfigError(f"crm.{self.name}.username is needed for the JWT bearer grant.",
                                 crm=self.name)
        test = "test.salesforce.com" in self.login_url
        audience = str(self.options.get("audience", f"https://{'test' if test else 'login'}.salesforce.com"))
        return jwt_assertion(issuer=str(self.options.get("client_id", "")), subject=username,
                             audience=audience, private_key_pem=pem)

    def _api(self, path: str) -> str:
        instance = self.tokens.value("instance_url")
        if not instance:
            raise base.CrmAuthError(f"The Salesforce token answer for '{self.name}' named no "
                               "instance_url.", crm=self.name)
        if path.startswith("/services/"):
            return f"{instance}{path}"
        return f"{instance}/services/data/v{self.api_version}/{path.lstrip('/')}"

    def query(self, text: str) -> list[dict[str, Any]]:
        """Every record a SOQL query returns, following nextRecordsUrl."""
        def more(body: Any) -> str | None:
            done = body.get("done", True) or not body.get("nextRecordsUrl")
            return None if done else self._api(body["nextRecordsUrl"])

        return [record for body in self.http.pages(self._api("query"), more, params={"q": text})
                for record in body.get("records", [])]

    # reading ----------------------------------------------------------------------

    def find_contacts(self, email: str) -> list[base.Contact]:
        found: list[base.Contact] = []
        for sobject in self.objects:
            # A converted Lead lives on as a Contact: only open Leads count.
            template = FIND_LEAD if sobject == "Lead" else FIND
            records = self.query(soql(template, columns=BASE_COLUMNS, sobject=sobject,
                                      email=email.strip()))
            # SOQL equality ignores case; keep exact matches only, as the contract says.
            found += [_contact(r) for r in records if planning.same_email(r.get("Email"), email)]
        return found

    batch_size = 100  # record ids in one query, well inside the query's length limit

    def fetch_profiles(self, contacts: Sequence[base.Contact], fields: Sequence[base.FieldRef],
                       items: Sequence[base.ItemRef]) -> dict[str, base.Profile | base.CrmError]:
        """One query for the records (a batch mixing Contacts and Leads: one per object)."""
        return planning.record_profiles(self, contacts, self._records(
            [c.ref for c in contacts], [f.crm_field for f in fields], items),
            lambda r: planning.record_profile(_contact(r), r, fields, items, VALUES.decode, OPT_OUT,
                                     planning.items_in(items, {"campaign": _campaign_members(r)})))

    def _records(self, refs: Sequence[str], columns: Sequence[str],
                 items: Sequence[base.ItemRef]) -> dict[str, dict[str, Any]]:
        """The records' columns, the fields their items stand for and, with
        campaign items, their campaign memberships, by id."""
        names = planning.record_columns(columns, items, *BASE_COLUMNS, OPT_OUT)
        template = RECORDS_WITH_CAMPAIGNS if any(i.kind == "campaign" for i in items) else RECORDS
        found: dict[str, dict[str, Any]] = {}
        for sobject in sorted({_sobject(ref) for ref in refs}):
            ids = [ref for ref in refs if _sobject(ref) == sobject]
            found.update({r["Id"]: r for r in self.query(
                soql(template, names=names, sobject=sobject, refs=ids))})
        return found

    def describe(self) -> base.Catalog:
        body = self.http.json("GET", self._api(f"sobjects/{self.objects[0]}/describe"))
        fields = [_field_info(spec) for spec in body.get("fields", [])]
        campaigns = self.query("SELECT Id, Name FROM Campaign WHERE IsActive = true "
                               "ORDER BY Name LIMIT 500")
        items = [*planning.field_items(fields, self.item_kinds, OPT_OUT),
                 *(base.CrmItemInfo(base.ItemRef("campaign", c["Id"]), c.get("Name", "")) for c in campaigns)]
        return base.Catalog(fields=tuple(fields), items=tuple(items))

    def check_access(self) -> None:
        self.query(soql("SELECT Id FROM {sobject:name} LIMIT 1", sobject=self.objects[0]))

    def endpoints(self) -> list[str]:
        return [self.login_url, self.tokens.client.token_url]

    def create_contact(self, email: str, name: str = "") -> base.Contact:
        if "Contact" not in self.objects:
            # A Lead needs a Company the portal does not know; Contacts are what it creates.
            raise base.CrmUnsupported(f"Salesforce '{self.name}' creates Contacts: add \"Contact\" to "
                                 f"objects in [crm.{self.name}].", crm=self.name)
        first, last = planning.split_name(name, email, last_required=True)
        taken = ERRORS.says("DUPLICATES_DETECTED")
        answer, created = self.http.create(self._api("sobjects/Contact"), taken=taken, json={
            "Email": email.strip(), "FirstName": first, "LastName": last})
        if not created:
            # Duplicates are allowed unless a duplicate rule blocks them; then the
            # record the rule matched is the contact.
            return planning.taken_contact(self, email)
        made = answer.json()["id"]
        return _contact(self._records([made], [], [])[made])

    # writing ----------------------------------------------------------------------

    def apply(self, change: base.Change) -> None:
        ref = change.contact_ref
        self.refuse_unknown_items(change)
        planning.refuse_tags(self, change, "Salesforce records have no tags: set tags_field to a "
                    "multi-select picklist")
        values = planning.record_values(change, VALUES.encode, OPT_OUT)
        edits = planning.option_edits(change, self.tags_field)
        join, leave = planning.items_of(change, "campaign")
        # One read: the options to merge with, the campaign memberships (a missing
        # record is the write's 404).
        current = self._records([ref], list(edits), [*join, *leave]).get(ref, {}) \
            if edits or join or leave else {}
        values.update({name: VALUES.encode("multiselect", chosen)
                       for name, chosen in planning.merged_options(edits, current).items()})
        members = _campaign_members(current)
        writes: list[Write] = [("record", "PATCH", f"sobjects/{_sobject(ref)}/{quote(ref)}", values)
                               ] if values else []
        writes += [(f"join{n}", "POST", "sobjects/CampaignMember", {
            "CampaignId": i.ref, f"{_sobject(ref)}Id": ref, "Status": self.campaign_status})
            for n, i in enumerate(join) if i.ref not in members]
        writes += [(f"leave{n}", "DELETE", f"sobjects/CampaignMember/{quote(members[i.ref])}", None)
                   for n, i in enumerate(leave) if i.ref in members]
        self._composite(self._note_writes(ref, change) + writes)

    def write_cost(self, change: base.Change) -> int:
        # A read for options and campaigns, the notes' query on a retry, one composite call.
        campaigns = any(i.kind == "campaign" for i in (*change.join, *change.leave))
        return bool(planning.option_edits(change, self.tags_field) or campaigns) + bool(change.notes) + 1

    def _note_writes(self, ref: str, change: base.Change) -> list[Write]:
        def texts() -> list[str]:
            return [n.get("TextPreview") or "" for n in self.query(soql(NOTES, ref=ref))]

        writes: list[Write] = []
        for n, note in enumerate(planning.unwritten_notes(change, texts)):
            html = planning.marked_html(change, note).encode()  # ContentNote.TextPreview holds the marker
            writes += [(f"note{n}", "POST", "sobjects/ContentNote", {
                "Title": note.title[:255], "Content": base64.b64encode(html).decode()}),
                (f"link{n}", "POST", "sobjects/ContentDocumentLink", {
                    "ContentDocumentId": f"@{{note{n}.id}}", "LinkedEntityId": ref,
                    "ShareType": "V", "Visibility": "AllUsers"})]
        return writes

    def _composite(self, writes: Sequence[Write]) -> None:
        """The writes in one composite call, all or none (24 subrequests a call,
        the notes first: a note and its link, a pair, stay in one call)."""
        for start in range(0, len(writes), COMPOSITE_MOST):
            body = self.http.json("POST", self._api("composite"), json={
                "allOrNone": True, "compositeRequest": [
                    {"referenceId": ref_id, "method": method, "body": sent,
                     "url": f"/services/data/v{self.api_version}/{path}"}
                    for ref_id, method, path, sent in writes[start:start + COMPOSITE_MOST]]})
            failed = [a for a in body.get("compositeResponse", []) if a["httpStatusCode"] >= 400
                      and ERRORS.codes_in(a["body"]) != {"PROCESSING_HALTED"}]  # rolled back
            if failed:
                raise ERRORS.refusal(failed[0]["httpStatusCode"], failed[0]["body"], self.name)


def _sobject(ref: str) -> str:
    # Salesforce ids start with their object's key prefix: 00Q is Lead, 003 Contact.
    return "Lead" if ref.startswith("00Q") else "Contact"


def _contact(record: Mapping[str, Any]) -> base.Contact:
    return base.Contact(ref=record["Id"], email=record.get("Email") or "",
                   modified=planning.parse_moment(record.get("LastModifiedDate")),
                   name=planning.full_name(record.get("FirstName"), record.get("LastName")))


def _campaign_members(record: Mapping[str, Any]) -> dict[str, str]:
    """Campaign Id -> CampaignMember Id, from the child relationship (null when empty)."""
    child = record.get("CampaignMembers") or {}
    return {m["CampaignId"]: m["Id"] for m in child.get("records", [])}


def _field_info(spec: Mapping[str, Any]) -> base.CrmFieldInfo:
    choices = tuple((p["value"], p.get("label") or p["value"])
                    for p in spec.get("picklistValues") or [] if p.get("active", True))
    return base.CrmFieldInfo(key=spec["name"], label=spec.get("label", spec["name"]),
                        type=spec.get("type", ""), portal_type=PORTAL_TYPES.get(spec.get("type", "")),
                        choices=choices, custom=bool(spec.get("custom")),
                        read_only=not spec.get("updateable", False))
