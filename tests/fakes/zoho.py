"""A fake Zoho CRM (API v8) with its accounts server, over real HTTP.

Follows zoho/crm-oas (v8.0/record.json, module_search.json, fields.json,
notes.json, related_notes.json, tags.json, tags_actions.json, common.json)
and the Zoho Python SDK's handling of 204:
- POST {accounts}/oauth/v2/token (form: grant_type, client_id,
  client_secret, code | refresh_token) → {access_token, api_domain,
  token_type, expires_in}; a bad refresh token is answered 200
  {"error": "invalid_code"} as the accounts server does.
- `Authorization: Zoho-oauthtoken <token>`; a stale token is 401
  {"code": "INVALID_TOKEN", "status": "error"}.
- GET /crm/v8/Contacts/search?email=&fields=&page=&per_page= → {"data": [...], "info":
  {"count", "page", "per_page", "more_records"}} (per_page at most 200), or 204
  with no body when nothing matches (not in the OpenAPI file; the SDK treats
  204 as "no content").
- GET /crm/v8/Contacts/{id}?fields= → {"data": [record]}; `Tag` is
  [{"name", "id"}], multi-select picklists are JSON arrays, booleans JSON.
- PUT /crm/v8/Contacts/{id} {"data": [{...}], "trigger": [...]} →
  {"data": [{"code": "SUCCESS", "status": "success", "details": {...}}]};
  a refused value is 400 with the same envelope, "status": "error",
  "code": "INVALID_DATA", "details": {"api_name"}.
- POST /crm/v8/Contacts {"data": [{...}], "trigger": [...]} (record.json's insert) → 201
  {"data": [{"code": "SUCCESS", "status": "success", "message": "record added",
  "details": {"id", "Created_Time", "Modified_Time", ...}}]}; without Last_Name 400
  MANDATORY_NOT_FOUND on "Last_Name". Email is not unique by default, so a taken one
  gets a second record; with `unique_email` (an administrator's "do not allow duplicate
  values") it is 400 DUPLICATE_DATA on "Email" with `duplicate_record` {"id", "module"}.
- POST /crm/v8/Contacts/{id}/actions/add_tags|remove_tags {"tags": [{"name"}]};
  tags.json gives a tag's name `maxLength: 25`: a longer one is 400 INVALID_DATA.
- GET /crm/v8/Contacts/{id}/Notes; POST /crm/v8/Notes with
  Parent_Id {"module": {"api_name"}, "id"}.
- GET /crm/v8/settings/fields?module=Contacts, /crm/v8/settings/tags?module=Contacts.

Unconfirmed and chosen here (also in docs/crm/zoho.md): a record id that
does not exist is 204 on GET and 400 INVALID_DATA on "id" on PUT; API
credits used up are answered 400 {"code": "LIMIT_EXCEEDED"}.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request

from tests.fakes import openapi
from tests.fakes.openapi import strict
from tests.fakes.server import FakeServer
from tests.fakes.tokens import FakeTokens

TAG_NAME_MAX = 25  # tags.json: the name's maxLength


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


@dataclass
class ZohoState:
    tokens: FakeTokens = field(default_factory=lambda: FakeTokens(lifetime=3600, error_status=200))
    api_domain: str = ""
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)  # name -> id
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    credits_exhausted: bool = False
    unique_email: bool = False  # Email set to "do not allow duplicate values"
    writes: list[dict[str, Any]] = field(default_factory=list)  # PUT bodies, for tests
    ids: Any = field(default_factory=lambda: itertools.count(5_725_767_000_000_000_001))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def define_field(self, api_name: str, label: str, data_type: str,
                     options: tuple[str, ...] = (), custom: bool = True,
                     read_only: bool = False) -> None:
        self.fields[api_name] = {
            "api_name": api_name, "field_label": label, "display_label": label,
            "data_type": data_type, "custom_field": custom, "read_only": read_only,
            "field_read_only": read_only, "visible": True, "json_type": "string",
            "pick_list_values": [{"display_value": o.title(), "actual_value": o, "type": "used",
                                  "id": str(n)} for n, o in enumerate(options)],
        }

    def add_contact(self, email: str, modified: str | None = None, **values: Any) -> str:
        contact_id = str(next(self.ids))
        self.contacts[contact_id] = {"id": contact_id, "Email": email, "Email_Opt_Out": False,
                                     "Modified_Time": modified or _now(), "Tag": [], **values}
        return contact_id

    def tag(self, contact_id: str, name: str) -> None:
        tag_id = self.tags.setdefault(name, str(next(self.ids)))
        tags = self.contacts[contact_id]["Tag"]
        if all(t["name"] != name for t in tags):
            tags.append({"name": name, "id": tag_id})

    def notes_of(self, contact_id: str) -> list[dict[str, Any]]:
        return [n for n in self.notes.values() if n["Parent_Id"]["id"] == contact_id]


def build_state() -> ZohoState:
    state = ZohoState()
    for api_name, label, kind in (("Email", "Email", "email"), ("First_Name", "First Name", "text"),
                                  ("Last_Name", "Last Name", "text"), ("Phone", "Phone", "phone"),
                                  ("Email_Opt_Out", "Email Opt Out", "boolean"),
                                  ("Date_of_Birth", "Date of Birth", "date")):
        state.define_field(api_name, label, kind, custom=False)
    state.define_field("Modified_Time", "Modified Time", "datetime", custom=False, read_only=True)
    return state


def _error(status: int, code: str, message: str, **details: Any) -> Response:
    response = jsonify({"code": code, "details": details, "message": message, "status": "error"})
    response.status_code = status
    return response


def _record_error(code: str, message: str, **details: Any) -> Response:
    response = jsonify({"data": [{"code": code, "details": details, "message": message,
                                  "status": "error"}]})
    response.status_code = 400
    return response


def create_app(state: ZohoState) -> Flask:
    app = strict(Flask("fake_zoho"), openapi.ZOHO, answer_types=True)

    @app.before_request
    def authenticate() -> Response | None:
        if request.path.startswith("/oauth/"):
            return None
        header = request.headers.get("Authorization", "")
        if not header.startswith("Zoho-oauthtoken ") or not state.tokens.valid(
                header.removeprefix("Zoho-oauthtoken ")):
            return _error(401, "INVALID_TOKEN", "invalid oauth token")
        if state.credits_exhausted:
            return _error(400, "LIMIT_EXCEEDED", "API credits limit exceeded for the day")
        return None

    @app.post("/oauth/v2/token")
    def token() -> Response:
        return state.tokens.answer(request.form)

    def shaped(record: dict[str, Any]) -> dict[str, Any]:
        wanted = [f for f in request.args.get("fields", "").split(",") if f]
        if not wanted:
            return dict(record)
        return {"id": record["id"], **{f: record.get(f) for f in wanted}}

    @app.get("/crm/v8/Contacts/search")
    def search() -> Response:
        email = request.args.get("email", "")
        found = [shaped(c) for c in state.contacts.values()
                 if email and str(c.get("Email", "")).lower() == email.lower()]
        number = request.args.get("page", 1, type=int)
        size = min(request.args.get("per_page", 200, type=int), 200)
        chunk = found[(number - 1) * size:number * size]
        if not chunk:
            return Response(status=204)
        return jsonify({"data": chunk, "info": {"count": len(chunk), "page": number, "per_page": size,
                                                "more_records": number * size < len(found)}})

    @app.post("/crm/v8/Contacts")
    def insert_contact() -> Response:
        values = dict(request.get_json()["data"][0])
        if not str(values.get("Last_Name") or "").strip():
            return _record_error("MANDATORY_NOT_FOUND", "required field not found",
                                 api_name="Last_Name", json_path="$.data[0].Last_Name")
        unknown = next((name for name in values if name not in state.fields), None)
        if unknown:
            return _record_error("INVALID_DATA", "invalid data", api_name=unknown,
                                 json_path=f"$.data[0].{unknown}")
        with state.lock:
            email = str(values.get("Email") or "").lower()
            taken = next((c for c in state.contacts.values()
                          if email and str(c.get("Email", "")).lower() == email), None)
            if state.unique_email and taken is not None:
                return _record_error("DUPLICATE_DATA", "duplicate data", api_name="Email",
                                     json_path="$.data[0].Email",
                                     duplicate_record={"id": taken["id"],
                                                       "module": {"api_name": "Contacts"}})
            contact_id = state.add_contact(values.pop("Email", ""), **values)
            stamp = state.contacts[contact_id]["Modified_Time"]
        response = jsonify({"data": [{"code": "SUCCESS", "status": "success",
                                      "message": "record added",
                                      "details": {"id": contact_id, "Created_Time": stamp,
                                                  "Modified_Time": stamp}}]})
        response.status_code = 201
        return response

    @app.get("/crm/v8/Contacts/<contact_id>")
    def get_contact(contact_id: str) -> Response:
        record = state.contacts.get(contact_id)
        if record is None:
            return Response(status=204)
        return jsonify({"data": [shaped(record)]})

    @app.put("/crm/v8/Contacts/<contact_id>")
    def update_contact(contact_id: str) -> Response:
        body = request.get_json()
        state.writes.append(body)
        record = state.contacts.get(contact_id)
        if record is None:
            return _record_error("INVALID_DATA", "the related id given seems to be invalid",
                                 api_name="id", json_path="$.data[0].id")
        values = body["data"][0]
        for name, value in values.items():
            spec = state.fields.get(name)
            if spec is None:
                return _record_error("INVALID_DATA", "invalid data", api_name=name,
                                     json_path=f"$.data[0].{name}")
            allowed = {p["actual_value"] for p in spec["pick_list_values"]}
            chosen = value if isinstance(value, list) else [value]
            if allowed and value and any(v not in allowed for v in chosen):
                return _record_error("INVALID_DATA", "invalid data", api_name=name,
                                     json_path=f"$.data[0].{name}")
            if spec["data_type"] == "multiselectpicklist" and value is not None \
                    and not isinstance(value, list):
                return _record_error("INVALID_DATA", "invalid data", api_name=name,
                                     expected_data_type="jsonarray")
        with state.lock:
            record.update(values)
            record["Modified_Time"] = _now()
        return jsonify({"data": [{"code": "SUCCESS", "status": "success", "message": "record updated",
                                  "details": {"id": contact_id, "Modified_Time": record["Modified_Time"]}}]})

    @app.post("/crm/v8/Contacts/<contact_id>/actions/<action>")
    def tags(contact_id: str, action: str) -> Response:
        if contact_id not in state.contacts or action not in ("add_tags", "remove_tags"):
            return _error(400, "INVALID_DATA", "the id given seems to be invalid")
        names = [t["name"] for t in request.get_json().get("tags", [])]
        if any(len(name) > TAG_NAME_MAX for name in names):
            return _error(400, "INVALID_DATA", "the tag name is longer than 25 characters")
        with state.lock:
            for name in names:
                if action == "add_tags":
                    state.tag(contact_id, name)
                else:
                    record = state.contacts[contact_id]
                    record["Tag"] = [t for t in record["Tag"] if t["name"] != name]
        return jsonify({"data": [{"code": "SUCCESS", "status": "success",
                                  "message": "tags updated successfully",
                                  "details": {"id": contact_id, "tags": names}}]})

    @app.get("/crm/v8/Contacts/<contact_id>/Notes")
    def related_notes(contact_id: str) -> Response:
        found = [shaped(n) for n in state.notes_of(contact_id)]
        if not found:
            return Response(status=204)
        return jsonify({"data": found, "info": {"count": len(found), "more_records": False}})

    @app.post("/crm/v8/Notes")
    def create_note() -> Response:
        results = []
        for note in request.get_json().get("data", []):
            parent = note.get("Parent_Id") or {}
            if (parent.get("module") or {}).get("api_name") != "Contacts" \
                    or parent.get("id") not in state.contacts:
                return _record_error("INVALID_DATA", "invalid data", api_name="Parent_Id")
            note_id = str(next(state.ids))
            state.notes[note_id] = {"id": note_id, **note}
            results.append({"code": "SUCCESS", "status": "success", "message": "record added",
                            "details": {"id": note_id}})
        response = jsonify({"data": results})
        response.status_code = 201
        return response

    @app.get("/crm/v8/settings/fields")
    def fields() -> Response:
        if request.args.get("module") != "Contacts":
            return _error(400, "INVALID_MODULE", "the module name given seems to be invalid")
        return jsonify({"fields": list(state.fields.values())})

    @app.get("/crm/v8/settings/tags")
    def tag_catalogue() -> Response:
        return jsonify({"tags": [{"name": n, "id": i} for n, i in state.tags.items()]})

    return app


def start() -> tuple[FakeServer, ZohoState]:
    state = build_state()
    server = FakeServer(create_app(state)).start()
    state.api_domain = server.url
    state.tokens.extra = lambda: {"api_domain": state.api_domain}
    return server, state
