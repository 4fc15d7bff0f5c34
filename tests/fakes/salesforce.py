"""A fake Salesforce org, over real HTTP, for the adapter tests.

Follows what the Salesforce REST API documents and simple-salesforce
(simple-salesforce/simple-salesforce, simple_salesforce/api.py, login.py,
format.py) relies on:
- POST /services/oauth2/token (client_credentials, refresh_token,
  urn:ietf:params:oauth:grant-type:jwt-bearer); the answer carries
  `instance_url` and no `expires_in` (the session lasts as the org says).
- Every call under {instance_url}/services/data/vNN.N/; a stale session is
  401 [{"errorCode": "INVALID_SESSION_ID"}].
- GET .../query?q=SOQL → {"totalSize", "done", "records": [{"attributes":
  {"type", "url"}, ...}]}; child relationships (CampaignMembers) come back as
  a nested query result, or null when empty. String literals use the
  escapes of the SOQL reference ("Quoted String Escape Sequences", the same
  table as simple_salesforce/format.py); `=` on text ignores case.
- A result longer than the batch size (2,000 by default; `batch_size` here)
  comes in batches ("Query" and "Query More Results"): `done` false, the
  `totalSize` of the whole result, and `nextRecordsUrl`
  /services/data/vNN.N/query/{locator}-{offset}, fetched with GET and no
  parameters until `done` is true.
- PATCH .../sobjects/{type}/{id} → 204; POST .../sobjects/{type} → 201
  {"id", "success", "errors"}; DELETE → 204; errors are JSON arrays
  [{"message", "errorCode", "fields"}] (400 INVALID_FIELD,
  INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, DUPLICATE_VALUE; 404 NOT_FOUND).
- Creating a Contact (POST .../sobjects/Contact) without LastName is 400
  REQUIRED_FIELD_MISSING ("Required fields are missing: [LastName]"). A
  second record with a taken email is allowed, as in an org without
  duplicate rules; with `duplicate_rule` set, an active blocking rule
  answers 400 DUPLICATES_DETECTED ("Use one of these records?").
- The daily API allocation exhausted is 403 REQUEST_LIMIT_EXCEEDED (the
  status code is unconfirmed in the public docs; the error code is
  documented). Each answer carries Sforce-Limit-Info.
- GET .../sobjects/Contact/describe → {"fields": [{"name", "label", "type",
  "custom", "updateable", "picklistValues": [...]}]}.
- POST .../composite {"allOrNone", "compositeRequest": [{"method", "url",
  "referenceId", "body"}]} (the REST API's "Send Multiple Requests Using
  Composite"): at most 25 subrequests, `@{referenceId.field}` naming an
  earlier answer, allOrNone rolling back on the first error (the rest
  PROCESSING_HALTED), 200 at the top level; one call against the limits.
- Notes: ContentNote (Content base64) linked by ContentDocumentLink
  {ContentDocumentId, LinkedEntityId, ShareType}; ContentNote.TextPreview
  holds the start of the text (its length is unconfirmed; the fake keeps 200).

The SOQL understood here is the subset the adapter writes: SELECT fields
(and one child subquery) FROM one object WHERE conditions joined by AND
(=, IN a list or a semi-join subquery), ORDER BY, LIMIT.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request

from tests.fakes.server import SUBREQUEST, FakeServer
from tests.fakes.tokens import FakeTokens

PREFIX = {"Contact": "003", "Lead": "00Q", "Campaign": "701", "CampaignMember": "00v",
          "ContentNote": "069", "ContentDocumentLink": "06A"}
CHILDREN = {"CampaignMembers": ("CampaignMember", {"Contact": "ContactId", "Lead": "LeadId"})}
TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>\d+)|(?P<sym>!=|[(),=])"
                   r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))")
UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


class SoqlError(Exception):
    pass


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@dataclass
class SalesforceState:
    tokens: FakeTokens = field(default_factory=lambda: FakeTokens(lifetime=None))
    records: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {name: {} for name in PREFIX})
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # Contact/Lead fields
    daily_limit_exceeded: bool = False
    duplicate_rule: bool = False  # an active rule that blocks a Contact with a taken email
    batch_size: int = 2000  # records per query answer before a query locator is needed
    cursors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # locator → records
    queries: list[str] = field(default_factory=list)
    versions: set[str] = field(default_factory=set)
    seq: Any = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_id(self, sobject: str) -> str:
        return f"{PREFIX[sobject]}{next(self.seq):012d}AAA"

    def define_field(self, name: str, label: str, type: str, options: tuple[str, ...] = (),
                     custom: bool = True, updateable: bool = True, restricted: bool = True) -> None:
        self.fields[name] = {
            "name": name, "label": label, "type": type, "custom": custom, "updateable": updateable,
            "createable": updateable, "nillable": type != "boolean", "calculated": False,
            "restrictedPicklist": restricted and bool(options),
            "picklistValues": [{"value": o, "label": o.title(), "active": True,
                                "defaultValue": False} for o in options],
        }

    def add(self, sobject: str, **values: Any) -> str:
        record_id = self.new_id(sobject)
        self.records[sobject][record_id] = {"Id": record_id, "LastModifiedDate": _now(), **values}
        return record_id

    def notes_of(self, record_id: str) -> list[dict[str, Any]]:
        linked = {link["ContentDocumentId"] for link in self.records["ContentDocumentLink"].values()
                  if link["LinkedEntityId"] == record_id}
        return [n for i, n in self.records["ContentNote"].items() if i in linked]


def build_state() -> SalesforceState:
    state = SalesforceState()
    for name, label, kind in (("Email", "Email", "email"), ("FirstName", "First Name", "string"),
                              ("LastName", "Last Name", "string"), ("Phone", "Phone", "phone"),
                              ("MailingCountry", "Mailing Country", "string"),
                              ("HasOptedOutOfEmail", "Email Opt Out", "boolean"),
                              ("Birthdate", "Birthdate", "date")):
        state.define_field(name, label, kind, custom=False)
    state.define_field("Name", "Full Name", "string", custom=False, updateable=False)
    state.define_field("LastModifiedDate", "Last Modified Date", "datetime", custom=False,
                       updateable=False)
    return state


# --- a small SOQL interpreter ----------------------------------------------------------


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise SoqlError(f"unexpected token at {pos}: {text[pos:pos + 20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.pos = 0

    def peek(self) -> str:
        return self.toks[self.pos][1] if self.pos < len(self.toks) else ""

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.toks):
            raise SoqlError("unexpected end of query")
        tok = self.toks[self.pos]
        if expected and tok[1].upper() != expected:
            raise SoqlError(f"expected {expected}, found {tok[1]!r}")
        self.pos += 1
        return tok

    def query(self) -> dict[str, Any]:
        self.take("SELECT")
        columns: list[Any] = []
        while True:
            if self.peek() == "(":
                self.take()
                columns.append(self.query())
                self.take(")")
            else:
                columns.append(self.take()[1])
            if self.peek() != ",":
                break
            self.take()
        self.take("FROM")
        q: dict[str, Any] = {"columns": columns, "from": self.take()[1], "where": [],
                             "order": None, "limit": None}
        if self.peek().upper() == "WHERE":
            self.take()
            q["where"].append(self.condition())
            while self.peek().upper() == "AND":
                self.take()
                q["where"].append(self.condition())
        if self.peek().upper() == "ORDER":
            self.take()
            self.take("BY")
            name = self.take()[1]
            desc = False
            if self.peek().upper() in ("ASC", "DESC"):
                desc = self.take()[1].upper() == "DESC"
            q["order"] = (name, desc)
        if self.peek().upper() == "LIMIT":
            self.take()
            q["limit"] = int(self.take()[1])
        return q

    def condition(self) -> tuple[str, str, Any]:
        name = self.take()[1]
        op = self.take()[1].upper()
        if op in ("=", "!="):
            return name, op, self.literal()
        if op != "IN":
            raise SoqlError(f"unsupported operator {op}")
        self.take("(")
        if self.peek().upper() == "SELECT":
            value: Any = ("subquery", self.query())
        else:
            value = [self.literal()]
            while self.peek() == ",":
                self.take()
                value.append(self.literal())
        self.take(")")
        return name, "IN", value

    def literal(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return re.sub(r"\\(.)", lambda m: UNESCAPE.get(m.group(1), "\\" + m.group(1)), text[1:-1])
        if kind == "num":
            return int(text)
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        if text.lower() == "null":
            return None
        raise SoqlError(f"expected a value, found {text!r}")

    def done(self) -> None:
        if self.pos != len(self.toks):
            raise SoqlError(f"unexpected {self.peek()!r}")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return a == b


def run_soql(state: SalesforceState, text: str, version: str) -> dict[str, Any]:
    parser = _Parser(text)
    query = parser.query()
    parser.done()
    return _run(state, query, version)


def _run(state: SalesforceState, q: dict[str, Any], version: str,
         only: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    sobject = q["from"]
    if sobject not in state.records:
        raise SoqlError(f"sObject type '{sobject}' is not supported")
    rows = list(state.records[sobject].values()) if only is None else only
    for name, op, value in q["where"]:
        if isinstance(value, tuple):
            inner = _run(state, value[1], version)["records"]
            column = value[1]["columns"][0]
            value = [r.get(column) for r in inner]
        if op == "=":
            rows = [r for r in rows if _same(r.get(name), value)]
        elif op == "!=":
            rows = [r for r in rows if not _same(r.get(name), value)]
        else:
            rows = [r for r in rows if any(_same(r.get(name), v) for v in value)]
    if q["order"]:
        name, desc = q["order"]
        rows.sort(key=lambda r: str(r.get(name) or ""), reverse=desc)
    if q["limit"] is not None:
        rows = rows[: q["limit"]]
    out = []
    for row in rows:
        record: dict[str, Any] = {"attributes": {
            "type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{row['Id']}"}}
        for column in q["columns"]:
            if isinstance(column, dict):
                child, keys = CHILDREN[column["from"]]
                key = keys[sobject]
                kids = [c for c in state.records[child].values() if c.get(key) == row["Id"]]
                sub = _run(state, {**column, "from": child}, version, only=kids)
                record[column["from"]] = sub if sub["records"] else None
            elif sobject in ("Contact", "Lead") and column not in state.fields and column != "Id" \
                    and column not in ("IsConverted",):
                raise SoqlError(f"No such column '{column}' on entity '{sobject}'")
            else:
                record[column] = row.get(column)
        out.append(record)
    return {"totalSize": len(out), "done": True, "records": out}


def batch(state: SalesforceState, locator: str, offset: int, version: str) -> dict[str, Any]:
    """One batch of a query's records, with the locator of the next one."""
    records = state.cursors[locator]
    end = offset + state.batch_size
    answer: dict[str, Any] = {"totalSize": len(records), "done": end >= len(records),
                              "records": records[offset:end]}
    if end < len(records):
        answer["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
    else:
        del state.cursors[locator]
    return answer


# --- the app -----------------------------------------------------------------------------


def _errors(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    response = jsonify([{"message": message, "errorCode": code, "fields": fields or []}])
    response.status_code = status
    return response


def create_app(state: SalesforceState) -> Flask:
    app = Flask("fake_salesforce")

    @app.before_request
    def authenticate() -> Response | None:
        if request.path.startswith("/services/oauth2/"):
            return None
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not state.tokens.valid(token):
            return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if state.daily_limit_exceeded:
            return _errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        return None

    @app.after_request
    def usage(response: Response) -> Response:
        response.headers["Sforce-Limit-Info"] = f"api-usage={len(state.queries)}/15000"
        return response

    @app.post("/services/oauth2/token")
    def token() -> Response:
        return state.tokens.answer(request.form)

    @app.get("/services/data/v<version>/query")
    @app.get("/services/data/v<version>/query/")
    def query(version: str) -> Response:
        state.versions.add(version)
        text = request.args.get("q", "")
        state.queries.append(text)
        try:
            result = run_soql(state, text, version)
        except SoqlError as exc:
            return _errors(400, "MALFORMED_QUERY", str(exc))
        locator = f"01g{next(state.seq):012d}AAA"
        state.cursors[locator] = result["records"]
        return jsonify(batch(state, locator, 0, version))

    @app.get("/services/data/v<version>/query/<locator>-<int:offset>")
    def query_more(version: str, locator: str, offset: int) -> Response:
        state.queries.append(f"more {locator}-{offset}")
        if locator not in state.cursors:
            return _errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return jsonify(batch(state, locator, offset, version))

    @app.get("/services/data/v<version>/sobjects/<sobject>/describe")
    def describe(version: str, sobject: str) -> Response:
        return jsonify({"name": sobject, "fields": [
            {"name": "Id", "label": "Contact ID", "type": "id", "custom": False, "updateable": False,
             "picklistValues": []}, *state.fields.values()]})

    def updatable(sobject: str, body: dict[str, Any]) -> Response | None:
        for name, value in body.items():
            spec = state.fields.get(name)
            if spec is None:
                return _errors(400, "INVALID_FIELD",
                               f"No such column '{name}' on sobject of type {sobject}", [name])
            if not spec["updateable"]:
                return _errors(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                               f"Unable to create/update fields: {name}.", [name])
            if spec["type"] in ("picklist", "multipicklist") and spec["restrictedPicklist"] \
                    and value:
                allowed = {p["value"] for p in spec["picklistValues"]}
                if any(v not in allowed for v in str(value).split(";")):
                    return _errors(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                   f"{spec['label']}: bad value for restricted picklist field: "
                                   f"{value}", [name])
            if spec["type"] == "boolean" and not isinstance(value, bool):
                return _errors(400, "JSON_PARSER_ERROR", f"Cannot deserialize {name}", [name])
        return None

    @app.patch("/services/data/v<version>/sobjects/<sobject>/<record_id>")
    def update(version: str, sobject: str, record_id: str) -> Response:
        record = state.records.get(sobject, {}).get(record_id)
        if record is None:
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        body = request.get_json()
        if (bad := updatable(sobject, body)) is not None:
            return bad
        with state.lock:
            record.update(body)
            record["LastModifiedDate"] = _now()
        return Response(status=204)

    @app.post("/services/data/v<version>/sobjects/<sobject>")
    def create(version: str, sobject: str) -> Response:
        body = request.get_json()
        if sobject == "CampaignMember":
            who = body.get("ContactId") or body.get("LeadId")
            if body.get("CampaignId") not in state.records["Campaign"]:
                return _errors(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id",
                               ["CampaignId"])
            if any(m["CampaignId"] == body["CampaignId"] and who in (m.get("ContactId"),
                                                                     m.get("LeadId"))
                   for m in state.records["CampaignMember"].values()):
                return _errors(400, "DUPLICATE_VALUE", "Already a campaign member.")
        elif sobject == "ContentNote":
            try:
                text = base64.b64decode(body["Content"]).decode()
            except (KeyError, ValueError):
                return _errors(400, "INVALID_FIELD", "Content must be base64", ["Content"])
            body = {**body, "TextPreview": re.sub(r"<[^>]+>", " ", text)[:200]}
        elif sobject == "ContentDocumentLink":
            if body.get("ContentDocumentId") not in state.records["ContentNote"]:
                return _errors(400, "INVALID_CROSS_REFERENCE_KEY", "invalid document id")
        elif sobject in ("Contact", "Lead"):
            if (bad := updatable(sobject, body)) is not None:
                return bad
            if not str(body.get("LastName") or "").strip():
                return _errors(400, "REQUIRED_FIELD_MISSING",
                               "Required fields are missing: [LastName]", ["LastName"])
            email = str(body.get("Email") or "").lower()
            if state.duplicate_rule and email and any(
                    str(r.get("Email") or "").lower() == email
                    for r in state.records[sobject].values()):
                return _errors(400, "DUPLICATES_DETECTED", "Use one of these records?")
        else:
            return _errors(404, "NOT_FOUND", f"The requested resource does not exist: {sobject}")
        record_id = state.add(sobject, **body)
        response = jsonify({"id": record_id, "success": True, "errors": []})
        response.status_code = 201
        return response

    @app.delete("/services/data/v<version>/sobjects/<sobject>/<record_id>")
    def delete(version: str, sobject: str, record_id: str) -> Response:
        if state.records.get(sobject, {}).pop(record_id, None) is None:
            return _errors(404, "ENTITY_IS_DELETED", "entity is deleted")
        return Response(status=204)

    @app.post("/services/data/v<version>/composite")
    def composite(version: str) -> Response:
        # "Send Multiple Requests Using Composite": up to 25 subrequests, later ones
        # naming earlier answers as @{referenceId.field}; with allOrNone an error rolls
        # every subrequest back and the others answer PROCESSING_HALTED; the top level
        # answers 200 either way.
        body = request.get_json()
        subrequests = body.get("compositeRequest") or []
        if not subrequests or len(subrequests) > 25:
            return _errors(400, "INVALID_BATCH_REQUEST", "1 to 25 subrequests are allowed")
        saved = {name: {k: dict(v) for k, v in rows.items()} for name, rows in state.records.items()}
        answers: list[dict[str, Any]] = []
        by_reference: dict[str, Any] = {}
        client = app.test_client()
        for sub in subrequests:
            def bound(text: str) -> str:
                return re.sub(r"@\{(\w+)\.(\w+)\}",
                              lambda m: str((by_reference.get(m[1]) or {}).get(m[2], "")), text)
            sent = bound(json.dumps(sub.get("body"))) if "body" in sub else None
            got = client.open(bound(sub["url"]), method=sub["method"], data=sent,
                              content_type="application/json", environ_overrides={SUBREQUEST: True},
                              headers={"Authorization": request.headers.get("Authorization", "")})
            answer = got.get_json(silent=True)
            by_reference[sub["referenceId"]] = answer if isinstance(answer, dict) else {}
            answers.append({"body": answer, "httpHeaders": {}, "httpStatusCode": got.status_code,
                            "referenceId": sub["referenceId"]})
            if got.status_code >= 400 and body.get("allOrNone"):
                state.records = saved
                halted = [{"errorCode": "PROCESSING_HALTED",
                           "message": "The transaction was rolled back since another operation "
                                      "in the same transaction failed."}]
                answers = [a if a is answers[-1] else {**a, "body": halted, "httpStatusCode": 400}
                           for a in answers]
                answers += [{"body": halted, "httpHeaders": {}, "httpStatusCode": 400,
                             "referenceId": s["referenceId"]} for s in subrequests[len(answers):]]
                break
        return jsonify({"compositeResponse": answers})

    # One request at a time inside the org, as its records are plain dicts: a
    # query must not see a write half done (the latency the server adds runs
    # before, outside the lock). A composite call's subrequests take it again.
    serial = threading.RLock()
    for name, view in list(app.view_functions.items()):
        app.view_functions[name] = _one_at_a_time(view, serial)
    return app


def _one_at_a_time(view: Any, lock: threading.RLock) -> Any:
    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return view(*args, **kwargs)
    return locked


def start() -> tuple[FakeServer, SalesforceState]:
    state = build_state()
    server = FakeServer(create_app(state)).start()
    state.tokens.extra = lambda: {"instance_url": server.url, "id": f"{server.url}/id/00D/005",
                                  "issued_at": str(int(datetime.now(UTC).timestamp() * 1000)),
                                  "signature": "fake", "scope": "api"}
    return server, state
