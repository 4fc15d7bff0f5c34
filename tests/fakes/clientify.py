"""A fake Clientify account speaking REST API v1 over loopback HTTP.

Follows the calls of gwannon/PHPClientifyAPI (src/contactClientify.php) and
gwannon/WP-PerfilDeContacto-Clientify, and the operation catalogue in
contacteitor/clientify_n8n (nodes/ClientifyApi/operations.generated.ts),
with Django REST framework conventions for what those leave open:

- auth: `Authorization: Token <key>`; a bad key answers 401 `{"detail": "Invalid token."}`.
- `GET /v1/contacts/?query=<text>`: a fuzzy search (substring of names and
  emails), DRF-paginated `{"count", "next", "previous", "results": [...]}`: with
  `page_size`, that many results of `page`, and `next` the address of the next page.
- `GET /v1/contacts/{id}/` → `{"id", "first_name", "last_name", "status", "emails": [{"id",
  "type", "email"}], "phones": [...], "tags": ["name"], "custom_fields": [{"field", "value"}],
  "created", "modified", "marketing_status"}`; 404 `{"detail": "Not found."}`.
- `POST /v1/contacts/` `{"first_name", "last_name", "email", "phone", "status", "tags"}` → 201
  with the contact (gwannon/PHPClientifyAPI `create`; names may be empty); a missing or
  invalid email answers 400 `{"email": ["Enter a valid email address."]}` (DRF). Emails
  are not unique: a taken one gets a second contact.
- `PUT /v1/contacts/{id}/` with a partial body (only the sent keys change);
  `custom_fields` by field name, `"--"` stored for empty; an unknown `status`
  answers 400 `{"status": ["\\"x\\" is not a valid choice."]}`.
- `PUT /v1/contacts/{id}/emails/{emailId}/` `{"email", "type"}`.
- `GET/POST /v1/contacts/{id}/tags/` (`{"name"}`, creates the tag) and
  `DELETE /v1/contacts/{id}/tags/{tagId}/`; catalogue `GET /v1/contacts/tags/`.
- `POST /v1/contacts/{id}/note/` `{"name", "comment"}`; notes show in
  `GET /v1/contacts/{id}/wallentries` (entry shape not documented; here DRF-paginated
  `{"results": [{"id", "type": "note", "name", "comment", "created"}]}`).
- `PUT /v1/contacts/{id}/marketing_status/` `{"marketing_status": bool}` (a toggle in the catalogue).
- `POST /v1/automations/{id}/add_contacts/` `{"contact_id"}`.
- `GET /v1/custom-fields/?object_type=contact`, `GET /v1/automations/`.
- rate limit (not documented): DRF throttling, 429 `{"detail": "Request was throttled..."}`
  with `Retry-After`.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, request

from tests.fakes.server import FakeServer

STATUSES = ("cold-lead", "warm-lead", "hot-lead", "in-deal", "customer", "lost-lead", "other")


def c_time(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class ClientifyState:
    token: str = "clientify-test-key-1234"
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    custom_fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)
    automations: dict[int, str] = field(default_factory=dict)
    automation_runs: list[tuple[int, int]] = field(default_factory=list)  # (automation, contact)
    ids: itertools.count = field(default_factory=lambda: itertools.count(7078900))
    lock: threading.RLock = field(default_factory=threading.RLock)

    def add_custom_field(self, name: str, type_: str = "text", choices: tuple[str, ...] = ()) -> None:
        self.custom_fields[name] = {"id": next(self.ids), "name": name, "field_type": type_,
                                    "object_type": "contact", "choices": list(choices)}

    def add_automation(self, name: str) -> int:
        aid = next(self.ids)
        self.automations[aid] = name
        return aid

    def add_contact(self, email: str, modified: datetime, **standard: Any) -> int:
        cid = next(self.ids)
        self.contacts[cid] = {
            "id": cid, "first_name": "", "last_name": "", "title": "", "status": "cold-lead",
            "emails": [{"id": next(self.ids), "type": 1, "email": email}], "phones": [],
            "tags": [], "custom_fields": [], "created": c_time(modified), "modified": c_time(modified),
            "marketing_status": True, **standard,
        }
        return cid

    def set_custom(self, cid: int, name: str, value: str) -> None:
        values = self.contacts[cid]["custom_fields"]
        for entry in values:
            if entry["field"] == name:
                entry["value"] = value
                return
        values.append({"field": name, "value": value})

    def tag(self, cid: int, name: str) -> None:
        self.tags.setdefault(name, next(self.ids))
        if name not in self.contacts[cid]["tags"]:
            self.contacts[cid]["tags"].append(name)

    def notes_of(self, cid: int) -> list[str]:
        return [f"{n['name']}\n{n['comment']}" for n in self.notes if n["contact"] == cid]


def detail(status: int, text: str) -> tuple[Response, int]:
    return jsonify({"detail": text}), status


def page(results: list[Any]) -> Response:
    size = request.args.get("page_size", type=int)
    if not size:
        return jsonify({"count": len(results), "next": None, "previous": None, "results": results})
    number = request.args.get("page", 1, type=int)
    more = number * size < len(results)
    following = f"{request.base_url}?{urlencode({**request.args, 'page': number + 1})}"
    return jsonify({"count": len(results), "next": following if more else None, "previous": None,
                    "results": results[(number - 1) * size:number * size]})


def create_app(state: ClientifyState) -> Flask:
    app = Flask("fake-clientify")
    app.url_map.strict_slashes = False

    @app.errorhandler(404)
    def _not_found(exc: Exception) -> Any:
        return detail(404, "Not found.")

    @app.before_request
    def _auth() -> Any:
        if request.headers.get("Authorization") != f"Token {state.token}":
            return detail(401, "Invalid token.")
        return None

    def contact(cid: int) -> dict[str, Any] | None:
        return state.contacts.get(cid)

    def contact_url(cid: int) -> str:
        return f"{request.host_url}v1/contacts/{cid}/"

    @app.get("/v1/contacts/")
    def search() -> Any:
        query = request.args.get("query", "").strip().lower()
        with state.lock:
            found = [
                {**c, "url": contact_url(c["id"])} for c in state.contacts.values()
                if not query or any(query in str(text).lower() for text in
                                    [c["first_name"], c["last_name"],
                                     *(e["email"] for e in c["emails"])])
            ]
        return page(found)

    @app.get("/v1/contacts/<int:cid>/")
    def get_contact(cid: int) -> Any:
        with state.lock:
            found = contact(cid)
            if found is None:
                return detail(404, "Not found.")
            return jsonify({**found, "url": contact_url(cid)})

    @app.put("/v1/contacts/<int:cid>/")
    def update_contact(cid: int) -> Any:
        body = request.get_json(silent=True) or {}
        with state.lock:
            found = contact(cid)
            if found is None:
                return detail(404, "Not found.")
            if "status" in body and body["status"] not in STATUSES:
                return jsonify({"status": [f'"{body["status"]}" is not a valid choice.']}), 400
            for key in ("first_name", "last_name", "title", "status", "description", "remarks",
                        "summary", "linkedin_url", "contact_source"):
                if key in body:
                    found[key] = body[key]
            for entry in body.get("custom_fields", []):
                if entry.get("field") not in state.custom_fields:
                    return jsonify({"custom_fields": [f'Unknown field "{entry.get("field")}".']}), 400
                state.set_custom(cid, entry["field"], str(entry.get("value", "")))
            found["modified"] = c_time()
            return jsonify({**found, "url": contact_url(cid)})

    @app.put("/v1/contacts/<int:cid>/emails/<int:eid>/")
    def update_email(cid: int, eid: int) -> Any:
        body = request.get_json(silent=True) or {}
        with state.lock:
            found = contact(cid)
            entry = next((e for e in (found or {}).get("emails", []) if e["id"] == eid), None)
            if entry is None:
                return detail(404, "Not found.")
            if "@" not in str(body.get("email", "")):
                return jsonify({"email": ["Enter a valid email address."]}), 400
            entry.update(email=body["email"], type=body.get("type", entry["type"]))
            return jsonify(entry)

    @app.get("/v1/contacts/<int:cid>/tags/")
    def contact_tags(cid: int) -> Any:
        with state.lock:
            found = contact(cid)
            if found is None:
                return detail(404, "Not found.")
            return page([{"id": state.tags[t], "name": t} for t in found["tags"]])

    @app.post("/v1/contacts/")
    def create_contact() -> Any:
        body = request.get_json(silent=True) or {}
        email = str(body.get("email") or "").strip()
        if "@" not in email or " " in email:
            return jsonify({"email": ["Enter a valid email address."]}), 400
        with state.lock:
            cid = state.add_contact(email, datetime.now(UTC),
                                    first_name=str(body.get("first_name") or ""),
                                    last_name=str(body.get("last_name") or ""))
            for name in body.get("tags") or []:
                state.tag(cid, str(name))
            response = jsonify({**state.contacts[cid], "url": contact_url(cid)})
        response.status_code = 201
        return response

    @app.post("/v1/contacts/<int:cid>/tags/")
    def add_tag(cid: int) -> Any:
        name = str((request.get_json(silent=True) or {}).get("name", "")).strip()
        with state.lock:
            if contact(cid) is None:
                return detail(404, "Not found.")
            if not name:
                return jsonify({"name": ["This field is required."]}), 400
            state.tag(cid, name)
            return jsonify({"id": state.tags[name], "name": name}), 201

    @app.delete("/v1/contacts/<int:cid>/tags/<int:tid>/")
    def remove_tag(cid: int, tid: int) -> Any:
        with state.lock:
            found = contact(cid)
            name = next((t for t, i in state.tags.items() if i == tid), None)
            if found is None or name not in found["tags"]:
                return detail(404, "Not found.")
            found["tags"].remove(name)
        return "", 204

    @app.get("/v1/contacts/tags/")
    def all_tags() -> Any:
        return page([{"id": i, "name": t} for t, i in state.tags.items()])

    @app.post("/v1/contacts/<int:cid>/note/")
    def add_note(cid: int) -> Any:
        body = request.get_json(silent=True) or {}
        with state.lock:
            if contact(cid) is None:
                return detail(404, "Not found.")
            note = {"id": next(state.ids), "contact": cid, "name": str(body.get("name", "")),
                    "comment": str(body.get("comment", "")), "created": c_time()}
            state.notes.append(note)
        return jsonify(note), 201

    @app.get("/v1/contacts/<int:cid>/wallentries")
    def wall(cid: int) -> Any:
        with state.lock:
            if contact(cid) is None:
                return detail(404, "Not found.")
            return page([{"id": n["id"], "type": "note", "name": n["name"], "comment": n["comment"],
                          "created": n["created"]} for n in state.notes if n["contact"] == cid])

    @app.put("/v1/contacts/<int:cid>/marketing_status/")
    def marketing_status(cid: int) -> Any:
        body = request.get_json(silent=True) or {}
        with state.lock:
            found = contact(cid)
            if found is None:
                return detail(404, "Not found.")
            if not isinstance(body.get("marketing_status"), bool):
                return jsonify({"marketing_status": ["Must be a valid boolean."]}), 400
            found["marketing_status"] = body["marketing_status"]
            return jsonify({"marketing_status": found["marketing_status"]})

    @app.post("/v1/automations/<int:aid>/add_contacts/")
    def run_automation(aid: int) -> Any:
        cid = int((request.get_json(silent=True) or {}).get("contact_id") or 0)
        with state.lock:
            if aid not in state.automations or contact(cid) is None:
                return detail(404, "Not found.")
            state.automation_runs.append((aid, cid))
        return jsonify({"detail": "Contacts added."})

    @app.get("/v1/custom-fields/")
    def custom_fields() -> Any:
        return page(list(state.custom_fields.values()))

    @app.get("/v1/automations/")
    def automations() -> Any:
        return page([{"id": i, "name": n} for i, n in state.automations.items()])

    return app


def throttled() -> Response:
    response = jsonify({"detail": "Request was throttled. Expected available in 1 second."})
    response.status_code = 429
    response.headers["Retry-After"] = "1"
    return response


def serve(state: ClientifyState | None = None, *, latency: float = 0.0,
          per_second: int = 0) -> tuple[FakeServer, ClientifyState]:
    """Start the fake; `latency` (seconds) and `per_second` (0: no limit) are the
    benchmark's knobs, also reachable later through `server.faults`."""
    state = state or ClientifyState()
    server = FakeServer(create_app(state))
    server.faults.rate_limit_response = throttled
    server.faults.latency, server.faults.per_second = latency, per_second
    return server.start(), state
