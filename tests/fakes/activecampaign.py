"""A fake ActiveCampaign account speaking API v3 over loopback HTTP.

Follows the v3 reference at developers.activecampaign.com as converted in
api-evangelist/activecampaign (openapi/activecampaign-contacts-api-openapi.yml,
-lists-, -fields-, -tags-, -notes-) and the calls of gwannon/PHPActiveCampaignAPI
(src/contactAC.php) and gwannon/ac-update-form (inc/libs.php):

- auth: `Api-Token` header; a wrong or missing key answers 403 `{"message": ...}`.
- `GET /api/3/contacts?ids[]=1&ids[]=2` ("Filter contacts by ID. Can be repeated for multiple
  IDs.") lists those contacts, without their values, paged like every list.
- `GET /api/3/contacts?email=` exact match → `{"scoreValues", "contacts": [...], "meta": {"total": "N"}}`.
- `GET /api/3/contacts/{id}` side-loads `fieldValues`, `contactLists`, `contactAutomations`;
  404 `{"message": "No Result found for Subscriber with id N"}`.
- `POST /api/3/contacts` `{"contact": {"email", "firstName", "lastName", ...}}` → 201
  `{"fieldValues": [], "contact": {...}}`, as in the v3 reference's "Create a contact";
  email is unique per account, so a taken email answers 422
  `{"errors": [{"title": "Email address already exists in the system.", "code": "duplicate",
  "source": {"pointer": "/data/attributes/email"}}]}` and a missing or invalid one 422
  `field_missing` / `email_invalid`. An API user whose group may not add contacts
  (`may_add_contacts = False`) gets the fake's 403 (the status AC gives a missing permission;
  its exact words on this endpoint are not documented).
- `PUT /api/3/contacts/{id}` `{"contact": {..., "fieldValues": [{"field", "value"}]}}`;
  an invalid email answers 422 `{"errors": [{"title", "detail", "code", "source"}]}`.
- multi-values (listbox, checkbox) stored as `||a||b||`.
- `POST /api/3/contactLists` `{"contactList": {"list", "contact", "status"}}` (1 subscribed, 2 unsubscribed).
- `GET /api/3/contacts/{id}/contactTags`, `POST /api/3/contactTags`, `DELETE /api/3/contactTags/{id}`
  (the association id), `GET/POST /api/3/tags`, `GET /api/3/tags/{id}`.
- `POST /api/3/notes` `{"note": {"note", "relid", "reltype": "Subscriber"}}`,
  `GET /api/3/contacts/{id}/notes`.
- `POST /api/3/contactAutomations` `{"contactAutomation": {"contact", "automation"}}`,
  `GET /api/3/automations`.
- `GET /api/3/fields` with side-loaded `fieldOptions`, `GET /api/3/lists`, `GET /api/3/users/me`.
- `POST /api/3/import/bulk_import` and `GET /api/3/import/info?batchId=`, as the v3 reference's
  "Bulk import contacts" and "Bulk import status info" (openapi/_original/activecampaign-v3.json)
  document them: up to 250 contacts `{email, first_name, last_name, phone, tags: [names],
  fields: [{id, value}], subscribe: [{listid}], unsubscribe: [{listid}]}`; a contact without a
  "@" in its email refuses the whole request, 400 `{"success": 0, "message": "JSON payload did not
  pass validation. ...", "failureReasons": [{"contact": <position>, "failureReason": ...}]}`,
  nothing queued; more than 100 imports in a minute answer 400 `{"success": 0, "message":
  "Rate limit exceeded.", "failureReasons": ["Up to 100 imports may be requested per minute..."]}`;
  else 200 `{"Success": 1, "queued_contacts": N, "batchId": "<uuid>", "message": "Contact import
  queued"}` (the reference's example spells "Success"). The import is asynchronous: it runs
  `import_seconds` after the request, and `import/info` then answers `{"status": "completed",
  "success": [contact ids], "failure": [emails]}`; before that the fake answers
  `{"status": "processing"}` (the reference documents only "completed"). A contact is matched by
  email, or created; tags are only added ("New tags will be created if they do not already
  exist"); "contacts may not be subscribed to lists which they have previously unsubscribed
  from": such a subscribe is skipped; an email the import cannot take lands in `failure`, as the
  reference's examples `invalid.email@invalidDomain` and `invalid'character@example.com` do. No
  notes.
- every list is paged as the reference's "Pagination" page says: `limit` (default 20,
  at most 100) and `offset`, the count in `meta.total`.
- tags have a `tagType`: "contact", or "template" for tags that label email templates.
- rate limit: 5 requests a second per account, answered 429 with `Retry-After`
  (set `faults.per_second = 5` to enforce it; tests leave it off).
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask, abort, jsonify, request
from werkzeug.exceptions import HTTPException

from tests.fakes.server import FakeServer

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DOCUMENTED_PER_SECOND = 5  # ActiveCampaign's limit per account, for `serve(per_second=...)`


def ac_time(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S-00:00")


@dataclass
class AcState:
    token: str = "ac-test-token-1234"
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    field_values: list[dict[str, Any]] = field(default_factory=list)
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    field_options: list[dict[str, Any]] = field(default_factory=list)
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    contact_lists: list[dict[str, Any]] = field(default_factory=list)
    tags: dict[str, dict[str, Any]] = field(default_factory=dict)
    contact_tags: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)
    automations: dict[str, dict[str, Any]] = field(default_factory=dict)
    contact_automations: list[dict[str, Any]] = field(default_factory=list)
    may_add_contacts: bool = True  # the API user's group permission
    imports: dict[str, dict[str, Any]] = field(default_factory=dict)  # batchId -> the import
    import_times: list[float] = field(default_factory=list)  # when each import was requested
    import_seconds: float = 0.2  # how long an import takes to run
    ids: itertools.count = field(default_factory=lambda: itertools.count(100))
    lock: threading.RLock = field(default_factory=threading.RLock)

    def next_id(self) -> str:
        return str(next(self.ids))

    # seeding -------------------------------------------------------------------

    def add_field(self, title: str, type_: str, options: tuple[str, ...] = ()) -> str:
        fid = self.next_id()
        self.fields[fid] = {"id": fid, "title": title, "type": type_, "perstag": title.upper(),
                            "isrequired": "0", "visible": "1", "options": []}
        for n, value in enumerate(options):
            oid = self.next_id()
            self.fields[fid]["options"].append(oid)
            self.field_options.append({"id": oid, "field": fid, "label": value.title(),
                                       "value": value, "orderid": n, "isdefault": 0})
        return fid

    def add_list(self, name: str) -> str:
        lid = self.next_id()
        self.lists[lid] = {"id": lid, "name": name, "stringid": name.lower().replace(" ", "-")}
        return lid

    def add_automation(self, name: str) -> str:
        aid = self.next_id()
        self.automations[aid] = {"id": aid, "name": name, "status": "1"}
        return aid

    def add_contact(self, email: str, modified: datetime, **standard: str) -> str:
        cid = self.next_id()
        self.contacts[cid] = {"id": cid, "email": email, "firstName": "", "lastName": "",
                              "phone": "", "cdate": ac_time(modified), "udate": ac_time(modified),
                              **standard}
        return cid

    def set_value(self, cid: str, fid: str, value: str) -> None:
        for fv in self.field_values:
            if fv["contact"] == cid and fv["field"] == fid:
                fv["value"] = value
                fv["udate"] = ac_time()
                return
        self.field_values.append({"id": self.next_id(), "contact": cid, "field": fid,
                                  "value": value, "cdate": ac_time(), "udate": ac_time()})

    def subscribe(self, cid: str, lid: str, status: int) -> dict[str, Any]:
        for cl in self.contact_lists:
            if cl["contact"] == cid and cl["list"] == lid:
                cl["status"] = str(status)
                return cl
        cl = {"id": self.next_id(), "contact": cid, "list": lid, "status": str(status),
              "sdate": ac_time(), "unsubreason": None}
        self.contact_lists.append(cl)
        return cl

    def tag_id(self, name: str, kind: str = "contact") -> str:
        for tag in self.tags.values():
            if tag["tag"] == name:
                return tag["id"]
        tid = self.next_id()
        self.tags[tid] = {"id": tid, "tag": name, "tagType": kind, "description": ""}
        return tid

    def tag_contact(self, cid: str, name: str) -> dict[str, Any]:
        tid = self.tag_id(name)
        for ct in self.contact_tags.values():
            if ct["contact"] == cid and ct["tag"] == tid:
                return ct
        ctid = self.next_id()
        self.contact_tags[ctid] = {"id": ctid, "contact": cid, "tag": tid, "cdate": ac_time()}
        return self.contact_tags[ctid]

    def run_import(self, contacts: list[dict[str, Any]]) -> dict[str, list[str]]:
        """One bulk import, as ActiveCampaign runs it once queued."""
        done: dict[str, list[str]] = {"success": [], "failure": []}
        for row in contacts:
            email = str(row["email"]).strip()
            if not EMAIL.match(email) or "'" in email:
                done["failure"].append(email)
                continue
            cid = next((c["id"] for c in self.contacts.values()
                        if c["email"].lower() == email.lower()), None)
            if cid is None:
                cid = self.add_contact(email, datetime.now(UTC))
            contact = self.contacts[cid]
            for key, name in (("first_name", "firstName"), ("last_name", "lastName"),
                              ("phone", "phone")):
                if key in row:
                    contact[name] = str(row[key] or "")
            for fv in row.get("fields", []):
                if str(fv.get("id")) in self.fields:
                    self.set_value(cid, str(fv["id"]), str(fv.get("value") or ""))
            for tag in row.get("tags", []):
                self.tag_contact(cid, str(tag))
            for entry in row.get("subscribe", []):
                lid = str(entry.get("listid"))
                left = any(cl["contact"] == cid and cl["list"] == lid and cl["status"] == "2"
                           for cl in self.contact_lists)
                if lid in self.lists and not left:
                    self.subscribe(cid, lid, 1)
            for entry in row.get("unsubscribe", []):
                if str(entry.get("listid")) in self.lists:
                    self.subscribe(cid, str(entry["listid"]), 2)
            contact["udate"] = ac_time()
            done["success"].append(cid)
        return done

    # reading for tests ---------------------------------------------------------

    def tags_of(self, cid: str) -> set[str]:
        return {self.tags[ct["tag"]]["tag"] for ct in self.contact_tags.values()
                if ct["contact"] == cid}

    def notes_of(self, cid: str) -> list[str]:
        return [n["note"] for n in self.notes if n["relid"] == cid]

    def automations_of(self, cid: str) -> list[str]:
        return [ca["automation"] for ca in self.contact_automations if ca["contact"] == cid]


def _page(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One page as the v3 reference pages every list: `limit` (20 by default, at
    most 100) rows from `offset`."""
    limit = min(int(request.args.get("limit", 20)), 100)
    offset = int(request.args.get("offset", 0))
    return rows[offset:offset + limit]


def _error(status: int, message: str) -> Any:
    response = jsonify({"message": message})
    response.status_code = status
    abort(response)


def create_app(state: AcState) -> Flask:
    app = Flask("fake-activecampaign")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if exc.response is not None:
            return exc.response
        return jsonify({"message": exc.description}), exc.code

    @app.before_request
    def _auth() -> Any:
        if request.headers.get("Api-Token") != state.token:
            return jsonify({"message": "You are not authorized to access this resource"}), 403
        return None

    def contact_or_404(cid: str) -> dict[str, Any]:
        contact = state.contacts.get(cid)
        if contact is None:
            _error(404, f"No Result found for Subscriber with id {cid}")
        return contact  # type: ignore[return-value]

    @app.get("/api/3/users/me")
    def me() -> Any:
        return jsonify({"user": {"id": "1", "username": "admin", "email": "admin@example.org"}})

    @app.get("/api/3/contacts")
    def list_contacts() -> Any:
        with state.lock:
            email = request.args.get("email", "").strip().lower()
            ids = set(request.args.getlist("ids[]"))
            found = [c for c in state.contacts.values() if (not email or c["email"].lower() == email)
                     and (not ids or c["id"] in ids)]
        return jsonify({"scoreValues": [], "contacts": _page(found), "meta": {"total": str(len(found)),
                        "page_input": {"email": email}}})

    @app.post("/api/3/contacts")
    def create_contact() -> Any:
        if not state.may_add_contacts:
            return jsonify({"message": "You do not have permission to add contacts"}), 403
        body = (request.get_json(silent=True) or {}).get("contact")
        if not isinstance(body, dict):
            return jsonify({}), 400
        email = str(body.get("email") or "").strip()
        if not EMAIL.match(email):
            code = "email_invalid" if email else "field_missing"
            return jsonify({"errors": [{"title": "Email address is not valid.", "detail": "",
                                        "code": code,
                                        "source": {"pointer": "/data/attributes/email"}}]}), 422
        with state.lock:
            if any(c["email"].lower() == email.lower() for c in state.contacts.values()):
                return jsonify({"errors": [{"title": "Email address already exists in the system.",
                                            "detail": "", "code": "duplicate",
                                            "source": {"pointer": "/data/attributes/email"}}]}), 422
            standard = {k: str(body[k]) for k in ("firstName", "lastName", "phone") if body.get(k)}
            cid = state.add_contact(email, datetime.now(UTC), **standard)
            return jsonify({"fieldValues": [], "contact": state.contacts[cid]}), 201

    @app.get("/api/3/contacts/<cid>")
    def get_contact(cid: str) -> Any:
        with state.lock:
            contact = contact_or_404(cid)
            return jsonify({
                "contact": contact,
                "fieldValues": [fv for fv in state.field_values if fv["contact"] == cid],
                "contactLists": [cl for cl in state.contact_lists if cl["contact"] == cid],
                "contactAutomations": [ca for ca in state.contact_automations if ca["contact"] == cid],
                "deals": [], "geoIps": [], "geoAddresses": [],
            })

    @app.put("/api/3/contacts/<cid>")
    def update_contact(cid: str) -> Any:
        body = (request.get_json(silent=True) or {}).get("contact")
        if not isinstance(body, dict):
            return jsonify({}), 400
        with state.lock:
            contact = contact_or_404(cid)
            if "email" in body and not EMAIL.match(str(body["email"] or "")):
                return jsonify({"errors": [{"title": "Email address is not valid.", "detail": "",
                                            "code": "email_invalid",
                                            "source": {"pointer": "/data/attributes/email"}}]}), 422
            for key in ("email", "firstName", "lastName", "phone"):
                if key in body:
                    contact[key] = body[key] or ""
            for fv in body.get("fieldValues", []):
                if str(fv.get("field")) in state.fields:
                    state.set_value(cid, str(fv["field"]), str(fv.get("value") or ""))
            contact["udate"] = ac_time()
            return jsonify({"fieldValues": [fv for fv in state.field_values if fv["contact"] == cid],
                            "contact": contact})

    @app.post("/api/3/contactLists")
    def contact_lists() -> Any:
        body = (request.get_json(silent=True) or {}).get("contactList") or {}
        cid, lid = str(body.get("contact", "")), str(body.get("list", ""))
        with state.lock:
            if cid not in state.contacts or lid not in state.lists:
                return jsonify({"errors": [{"title": "The related list or contact does not exist.",
                                            "code": "related_missing"}]}), 422
            cl = state.subscribe(cid, lid, int(body.get("status", 1)))
            return jsonify({"contacts": [state.contacts[cid]], "contactList": cl})

    @app.get("/api/3/lists")
    def lists() -> Any:
        return jsonify({"lists": _page(list(state.lists.values())),
                        "meta": {"total": str(len(state.lists))}})

    @app.get("/api/3/fields")
    def fields() -> Any:
        page = _page(list(state.fields.values()))
        shown = {f["id"] for f in page}  # options come side-loaded with their fields
        return jsonify({"fields": page,
                        "fieldOptions": [o for o in state.field_options if o["field"] in shown],
                        "fieldRels": [], "meta": {"total": str(len(state.fields))}})

    @app.get("/api/3/tags")
    def tags() -> Any:
        search = request.args.get("search", "").lower()
        found = [t for t in state.tags.values() if search in t["tag"].lower()]
        return jsonify({"tags": _page(found), "meta": {"total": str(len(found))}})

    @app.get("/api/3/tags/<tid>")
    def get_tag(tid: str) -> Any:
        with state.lock:
            if tid not in state.tags:
                _error(404, f"No Result found for Tag with id {tid}")
            return jsonify({"tag": state.tags[tid]})

    @app.post("/api/3/tags")
    def create_tag() -> Any:
        body = (request.get_json(silent=True) or {}).get("tag") or {}
        if not body.get("tag"):
            return jsonify({"errors": [{"title": "Tag name is required", "code": "field_missing",
                                        "source": {"pointer": "/data/attributes/tag"}}]}), 422
        with state.lock:
            tid = state.tag_id(str(body["tag"]))
            return jsonify({"tag": state.tags[tid]}), 201

    @app.get("/api/3/contacts/<cid>/contactTags")
    def contact_tags(cid: str) -> Any:
        with state.lock:
            contact_or_404(cid)
            return jsonify({"contactTags": [ct for ct in state.contact_tags.values()
                                            if ct["contact"] == cid]})

    @app.post("/api/3/contactTags")
    def add_contact_tag() -> Any:
        body = (request.get_json(silent=True) or {}).get("contactTag") or {}
        cid, tid = str(body.get("contact", "")), str(body.get("tag", ""))
        with state.lock:
            if cid not in state.contacts:
                return jsonify({"errors": [{"status": 404, "title": "Not Found",
                                            "detail": "Contact not found"}]}), 404
            if tid not in state.tags:
                return jsonify({"errors": [{"status": 404, "title": "Not Found",
                                            "detail": "Tag not found"}]}), 404
            return jsonify({"contactTag": state.tag_contact(cid, state.tags[tid]["tag"])}), 201

    @app.delete("/api/3/contactTags/<ctid>")
    def remove_contact_tag(ctid: str) -> Any:
        with state.lock:
            if state.contact_tags.pop(ctid, None) is None:
                _error(404, f"No Result found for ContactTag with id {ctid}")
        return jsonify({})

    @app.get("/api/3/contacts/<cid>/notes")
    def contact_notes(cid: str) -> Any:
        with state.lock:
            contact_or_404(cid)
            return jsonify({"notes": [n for n in state.notes if n["relid"] == cid]})

    @app.post("/api/3/notes")
    def add_note() -> Any:
        body = (request.get_json(silent=True) or {}).get("note") or {}
        cid = str(body.get("relid", ""))
        with state.lock:
            if body.get("reltype") != "Subscriber" or cid not in state.contacts:
                return jsonify({"errors": [{"title": "Invalid relation", "code": "field_invalid",
                                            "source": {"pointer": "/data/attributes/relid"}}]}), 422
            note = {"id": state.next_id(), "note": str(body.get("note", "")), "relid": cid,
                    "reltype": "Subscriber", "cdate": ac_time()}
            state.notes.append(note)
            return jsonify({"note": note}), 201

    @app.post("/api/3/import/bulk_import")
    def bulk_import() -> Any:
        contacts = (request.get_json(silent=True) or {}).get("contacts")
        now = time.monotonic()
        with state.lock:
            state.import_times[:] = [t for t in state.import_times if t > now - 60]
            if len(state.import_times) >= 100:
                return jsonify({"success": 0, "message": "Rate limit exceeded.", "failureReasons": [
                    "Up to 100 imports may be requested per minute.Please batch contacts into "
                    "larger requests, or retry this request in a minute."]}), 400
            if not isinstance(contacts, list) or not 0 < len(contacts) <= 250:
                return jsonify({"success": 0, "message": "Up to 250 contacts may be imported "
                                "at once.", "failureReasons": []}), 400
            wrong = [{"contact": n, "failureReason": "Field‘ email’ incorrect format"}
                     for n, row in enumerate(contacts)
                     if "@" not in str((row or {}).get("email") or "")]
            if wrong:
                return jsonify({"success": 0, "message": "JSON payload did not pass validation. "
                                "Please fix failure Reasons and retry. The import was not queued "
                                "for processing.", "failureReasons": wrong}), 400
            state.import_times.append(now)
            batch = str(uuid.uuid4())
            state.imports[batch] = {"contacts": contacts, "due": now + state.import_seconds,
                                    "result": None}
        return jsonify({"Success": 1, "queued_contacts": len(contacts), "batchId": batch,
                        "message": "Contact import queued"})

    @app.get("/api/3/import/info")
    def import_info() -> Any:
        batch = request.args.get("batchId", "")
        if not batch:
            return jsonify({"success": 0, "message": "'batchId' is a required field."}), 400
        with state.lock:
            found = state.imports.get(batch)
            if found is None:
                _error(404, f"No Result found for import {batch}")
            if found["result"] is None and time.monotonic() >= found["due"]:
                found["result"] = state.run_import(found["contacts"])
            if found["result"] is None:
                return jsonify({"status": "processing"})
            return jsonify({"status": "completed", **found["result"]})

    @app.get("/api/3/automations")
    def automations() -> Any:
        return jsonify({"automations": _page(list(state.automations.values())),
                        "meta": {"total": str(len(state.automations))}})

    @app.post("/api/3/contactAutomations")
    def add_contact_automation() -> Any:
        body = (request.get_json(silent=True) or {}).get("contactAutomation") or {}
        cid, aid = str(body.get("contact", "")), str(body.get("automation", ""))
        with state.lock:
            if cid not in state.contacts or aid not in state.automations:
                return jsonify({"errors": [{"title": "Contact or automation not found",
                                            "code": "related_missing"}]}), 422
            ca = {"id": state.next_id(), "contact": cid, "automation": aid, "status": "1",
                  "adddate": ac_time()}
            state.contact_automations.append(ca)
            return jsonify({"contactAutomation": ca}), 201

    return app


def serve(state: AcState | None = None, *, latency: float = 0.0,
          per_second: int = 0) -> tuple[FakeServer, AcState]:
    """Start the fake; `latency` (seconds) and `per_second` (0: no limit) are the
    benchmark's knobs, also reachable later through `server.faults`."""
    state = state or AcState()
    server = FakeServer(create_app(state))
    server.faults.latency, server.faults.per_second = latency, per_second
    return server.start(), state
