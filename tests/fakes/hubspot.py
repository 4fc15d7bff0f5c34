"""A fake HubSpot account, over real HTTP, for the adapter tests.

Follows HubSpot/HubSpot-public-api-spec-collection (commit 99893791):
- PublicApiSpecs/CRM/Contacts/Rollouts/424/v3/contacts.json: GET/PATCH
  /crm/v3/objects/contacts/{contactId} with `idProperty` and `properties`
  (404 when no record has that id or email), `associations=notes`, values
  always strings, `updatedAt`; errors as {status, message, category}.
  POST /crm/v3/objects/contacts {"properties": {...}} → 201 with the new
  record; email is unique, so a taken one answers 409 {"status": "error",
  "message": "Contact already exists. Existing ID: N", "category": "CONFLICT"}
  (the answer quoted in HubSpot/hubspot-api-nodejs#545 and
  hubspot-api-python#51). Emails are kept in lower case.
- PublicApiSpecs/CRM/Properties/Rollouts/145899/v3/properties.json:
  GET /crm/v3/properties/contacts → {"results": [Property]}.
- PublicApiSpecs/Communication Preferences/Subscriptions/Rollouts/176901/v4/
  subscriptions.json: definitions, GET/POST statuses/{subscriberIdString}
  (`subscriptionId` integer, `statusState`, `legalBasis`,
  `legalBasisExplanation`, channel=EMAIL), GET and POST
  statuses/{subscriberIdString}/unsubscribe-all?channel=EMAIL (the GET answers
  PublicWideStatus results: `wideStatusType`, `status`). Statuses belong to
  the address, not to the contact: changing a contact's email leaves them behind.
- PublicApiSpecs/CRM/Lists/Rollouts/144891/v3/lists.json: GET
  /crm/v3/lists/records/0-1/{recordId}/memberships, PUT
  /crm/v3/lists/{listId}/memberships/add|remove (a JSON array of record ids,
  answer with `recordsIdsAdded`), POST /crm/v3/lists/search (ListSearchRequest:
  `offset` and `additionalProperties` required, `objectTypeId`, `count` up to
  500, `hasMore` and the next `offset` in the answer), POST
  /crm/v3/lists/records/memberships/batch/read (RecordIdInput).
- The same contacts.json: POST /crm/v3/objects/contacts/batch/read (up to 100
  inputs; `propertiesWithHistory` required; missing ids in one
  OBJECT_NOT_FOUND error of a 207). subscriptions.json (v4): POST
  statuses/batch/read?channel=EMAIL {"inputs": [emails]}, POST statuses/batch/write
  {"inputs": [PublicStatusRequest]} (207 with errors for the inputs it refused),
  statuses/batch/unsubscribe-all?channel=EMAIL {"inputs": [emails]}.
- Writes in bulk: POST /crm/v3/objects/contacts/batch/update (up to 100;
  refused records in errors naming them in context.ids, 207), PUT
  /crm/v3/lists/{listId}/memberships/add-and-remove {recordIdsToAdd,
  recordIdsToRemove}, POST /crm/v3/objects/notes/batch/create.
- Every request is checked against those OpenAPI files (tests/fakes/openapi.py).
- PublicApiSpecs/CRM/Notes/Rollouts/424/v3/notes.json: POST
  /crm/v3/objects/notes with `associations[{to:{id},types:[...]}]`, POST
  /crm/v3/objects/notes/batch/read.
- PublicApiSpecs/Auth/Oauth/Rollouts/155908/v1/oauth.json: POST
  /oauth/v1/token (form-encoded; refresh_token / authorization_code).

Assumptions where the specs say nothing (also in docs/crm/hubspot.md):
`hs_email_optout` reads "true" once the contact unsubscribed from all and is
read-only; subscribing to a type after that lifts the portal-wide opt-out
(v4's RESUBSCRIBE_OCCURRED); the note→contact association type id is 202.
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

NOTE_TO_CONTACT = 202
DEFAULT_PROPERTIES = ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate",
                      "lastname")
READ_ONLY = {"hs_email_optout", "hs_object_id", "createdate", "lastmodifieddate"}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class HubSpotState:
    private_app_token: str | None = "pat-eu1-test"
    tokens: FakeTokens = field(default_factory=FakeTokens)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    definitions: dict[int, str] = field(default_factory=dict)
    statuses: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    opted_out: set[str] = field(default_factory=set)  # emails, lower case
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    lists_scope: bool = True  # False: the token lacks crm.lists.read/write
    ids: Any = field(default_factory=lambda: itertools.count(501))
    lock: threading.Lock = field(default_factory=threading.Lock)

    # seeding ------------------------------------------------------------------

    def define_property(self, name: str, label: str, type: str = "string",
                        field_type: str = "text", options: tuple[str, ...] = (),
                        custom: bool = True) -> None:
        self.properties[name] = {
            "name": name, "label": label, "type": type, "fieldType": field_type,
            "groupName": "contactinformation", "hubspotDefined": not custom,
            "hidden": False, "calculated": False, "formField": True,
            "options": [{"label": o.title(), "value": o, "displayOrder": n, "hidden": False}
                        for n, o in enumerate(options)],
            "modificationMetadata": {"readOnlyValue": name in READ_ONLY, "archivable": True},
        }

    def add_contact(self, email: str, updated: str | None = None, **props: str) -> str:
        contact_id = str(next(self.ids))
        stamp = updated or _now()
        self.contacts[contact_id] = {
            "id": contact_id, "createdAt": stamp, "updatedAt": stamp, "archived": False,
            "properties": {"email": email, "hs_object_id": contact_id, **props},
        }
        return contact_id

    def find(self, email: str) -> dict[str, Any] | None:
        return next((c for c in self.contacts.values()
                     if c["properties"].get("email", "").lower() == email.lower()), None)

    def notes_of(self, contact_id: str) -> list[dict[str, Any]]:
        return [n for n in self.notes.values() if n["contact"] == contact_id]


def build_state() -> HubSpotState:
    state = HubSpotState()
    for name, label in (("email", "Email"), ("firstname", "First name"), ("lastname", "Last name"),
                        ("phone", "Phone number")):
        state.define_property(name, label, field_type="phonenumber" if name == "phone" else "text",
                              custom=False)
    state.define_property("hs_email_optout", "Unsubscribed from all email", "bool",
                          "booleancheckbox", ("true", "false"), custom=False)
    state.define_property("date_of_birth", "Date of birth", "date", "date")
    state.define_property("newsletter_ok", "Newsletter OK", "bool", "booleancheckbox",
                          ("true", "false"))
    state.define_property("topics", "Topics", "enumeration", "checkbox", ("news", "events", "offers"))
    state.define_property("language", "Language", "enumeration", "select", ("es", "eu", "en"))
    state.define_property("notes_text", "Notes", "string", "textarea")
    state.definitions = {101: "Monthly newsletter", 102: "Event invitations"}
    state.lists = {"7": {"name": "Volunteers", "processingType": "MANUAL", "members": set()},
                   "8": {"name": "Donors", "processingType": "MANUAL", "members": set()}}
    return state


def _error(status: int, message: str, category: str, **extra: Any) -> Response:
    response = jsonify({"status": "error", "message": message, "category": category,
                        "correlationId": "5bb4a1c5-0000-0000-0000-000000000000", **extra})
    response.status_code = status
    return response


def _batch_answer(results: list[Any], errors: list[Any]) -> Response:
    """A batch endpoint's answer: 207 with the refused inputs under "errors"."""
    answer = jsonify({"status": "COMPLETE", "startedAt": _now(), "completedAt": _now(),
                      "results": results, **({"errors": errors, "numErrors": len(errors)}
                                             if errors else {})})
    answer.status_code = 207 if errors else 200
    return answer


def create_app(state: HubSpotState) -> Flask:
    app = strict(Flask("fake_hubspot"), openapi.HUBSPOT)

    @app.before_request
    def authenticate() -> Response | None:
        if request.path.startswith("/oauth/"):
            return None
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        if header.startswith("Bearer ") and (token == state.private_app_token
                                             or state.tokens.valid(token)):
            if request.path.startswith("/crm/v3/lists") and not state.lists_scope:
                return _error(403, "This app hasn't been granted all required scopes to make this "
                                   "call.", "MISSING_SCOPES")
            return None
        return _error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")

    @app.post("/oauth/v1/token")
    def token() -> Response:
        return state.tokens.answer(request.form)

    def contact_json(contact: dict[str, Any], properties: str | None = None) -> dict[str, Any]:
        asked = request.args.get("properties", "") if properties is None else properties
        wanted = [p for p in asked.split(",") if p]
        props = dict(contact["properties"])
        props["hs_email_optout"] = "true" if props.get("email", "").lower() in state.opted_out \
            else "false"
        props["lastmodifieddate"] = contact["updatedAt"]
        names = set(DEFAULT_PROPERTIES) | set(wanted)
        body: dict[str, Any] = {
            "id": contact["id"], "createdAt": contact["createdAt"], "updatedAt": contact["updatedAt"],
            "archived": False, "properties": {n: props.get(n) for n in sorted(names)},
        }
        if "notes" in request.args.get("associations", "").split(","):
            body["associations"] = {"notes": {"results": [
                {"id": n["id"], "type": "contact_to_note"} for n in state.notes_of(contact["id"])]}}
        return body

    def lookup(contact_id: str) -> dict[str, Any] | None:
        if request.args.get("idProperty") == "email":
            return state.find(contact_id)
        return state.contacts.get(contact_id)

    @app.get("/crm/v3/objects/contacts")
    def list_contacts() -> Response:
        limit = int(request.args.get("limit", 10))
        return jsonify({"results": [contact_json(c) for c in list(state.contacts.values())[:limit]]})

    @app.get("/crm/v3/objects/contacts/<contact_id>")
    def get_contact(contact_id: str) -> Response:
        contact = lookup(contact_id)
        if contact is None:
            return _error(404, "resource not found", "OBJECT_NOT_FOUND")
        return jsonify(contact_json(contact))

    @app.post("/crm/v3/objects/contacts/batch/read")
    def batch_read_contacts() -> Response:
        # BatchReadInputSimplePublicObjectId: at most 100 inputs; ids not found
        # come back as one OBJECT_NOT_FOUND error and the answer is 207.
        body = request.get_json()
        if len(body["inputs"]) > 100:
            return _error(400, "Batch input cannot exceed 100 inputs", "VALIDATION_ERROR")
        wanted = ",".join(body.get("properties", []))
        found, missing = [], []
        for item in body["inputs"]:
            contact = state.contacts.get(str(item["id"]))
            if contact is None:
                missing.append(str(item["id"]))
            else:
                found.append(contact_json(contact, wanted))
        answer = {"status": "COMPLETE", "startedAt": _now(), "completedAt": _now(),
                  "results": found}
        if missing:
            answer.update(numErrors=1, errors=[{
                "status": "error", "category": "OBJECT_NOT_FOUND", "message": "Could not get "
                "some CONTACT objects, they may be deleted or not exist.",
                "context": {"ids": missing}, "errors": [], "links": {}}])
        response = jsonify(answer)
        response.status_code = 207 if missing else 200
        return response

    @app.post("/crm/v3/objects/contacts")
    def create_contact() -> Response:
        props = dict(request.get_json()["properties"])
        props["email"] = props.get("email", "").strip().lower()
        existing = state.find(props["email"]) if props["email"] else None
        if existing is not None:
            return _error(409, f"Contact already exists. Existing ID: {existing['id']}",
                          "CONFLICT")
        contact_id = state.add_contact(**props)
        response = jsonify(contact_json(state.contacts[contact_id]))
        response.status_code = 201
        return response

    def problems_in(props: dict[str, Any]) -> list[dict[str, Any]]:
        problems = []
        for name, value in props.items():
            spec = state.properties.get(name)
            if spec is None:
                problems.append({"message": f'Property "{name}" does not exist',
                                 "code": "PROPERTY_DOESNT_EXIST", "context": {"propertyName": [name]}})
            elif spec["modificationMetadata"]["readOnlyValue"]:
                problems.append({"message": f'"{name}" is a read only property; its value cannot be set.',
                                 "code": "READ_ONLY_VALUE", "context": {"propertyName": [name]}})
            elif spec["type"] == "enumeration" and value:
                allowed = {o["value"] for o in spec["options"]}
                bad = [v for v in str(value).split(";") if v not in allowed]
                if bad:
                    problems.append({"message": f"{bad[0]} was not one of the allowed options",
                                     "code": "INVALID_OPTION", "context": {"propertyName": [name]}})
        return problems

    def store(contact: dict[str, Any], props: dict[str, Any]) -> None:
        with state.lock:
            for name, value in props.items():
                contact["properties"][name] = "" if value is None else str(value)
            contact["updatedAt"] = _now()

    @app.patch("/crm/v3/objects/contacts/<contact_id>")
    def update_contact(contact_id: str) -> Response:
        contact = lookup(contact_id)
        if contact is None:
            return _error(404, "resource not found", "OBJECT_NOT_FOUND")
        props = request.get_json()["properties"]
        if problems := problems_in(props):
            return _error(400, "Property values were not valid", "VALIDATION_ERROR", errors=problems)
        store(contact, props)
        return jsonify(contact_json(contact))

    @app.post("/crm/v3/objects/contacts/batch/update")
    def batch_update_contacts() -> Response:
        # BatchInputSimplePublicObjectBatchInput: at most 100; each refused record is
        # an error naming it in context.ids, the answer then 207.
        inputs = request.get_json()["inputs"]
        if len(inputs) > 100:
            return _error(400, "Batch input cannot exceed 100 inputs", "VALIDATION_ERROR")
        results, errors = [], []
        for item in inputs:
            contact = state.contacts.get(str(item["id"]))
            problems = problems_in(item["properties"]) if contact is not None else []
            if contact is None or problems:
                errors.append({"status": "error", "category": "VALIDATION_ERROR" if problems
                               else "OBJECT_NOT_FOUND", "message": "Record not updated",
                               "context": {"ids": [str(item["id"])]}, "errors": problems,
                               "links": {}})
                continue
            store(contact, item["properties"])
            results.append(contact_json(contact, ""))
        return _batch_answer(results, errors)

    @app.get("/crm/v3/properties/contacts")
    def properties() -> Response:
        return jsonify({"results": list(state.properties.values())})

    # communication preferences v4 ----------------------------------------------

    @app.get("/communication-preferences/v4/definitions")
    def definitions() -> Response:
        return jsonify({"status": "COMPLETE", "startedAt": _now(), "completedAt": _now(), "results": [
            {"id": str(i), "name": name, "description": "", "isActive": True, "isDefault": False,
             "isInternal": False, "purpose": "Marketing", "communicationMethod": "Email",
             "businessUnitId": 0} for i, name in state.definitions.items()]})

    def status_json(email: str, sub_id: int) -> dict[str, Any]:
        stored = state.statuses.get((email.lower(), sub_id), {})
        return {"subscriberIdString": email, "subscriptionId": sub_id, "channel": "EMAIL",
                "status": stored.get("status", "NOT_SPECIFIED"), "source": "PUBLIC_STATUS_API",
                "legalBasis": stored.get("legalBasis"),
                "legalBasisExplanation": stored.get("legalBasisExplanation"),
                "timestamp": stored.get("timestamp", _now()), "businessUnitId": 0}

    def channel_ok() -> Response | None:
        if request.args.get("channel") != "EMAIL":
            return _error(400, "channel is required", "VALIDATION_ERROR")
        return None

    @app.get("/communication-preferences/v4/statuses/<email>")
    def statuses(email: str) -> Response:
        if (bad := channel_ok()) is not None:
            return bad
        return jsonify({"status": "COMPLETE", "startedAt": _now(), "completedAt": _now(),
                        "results": [status_json(email, i) for i in state.definitions]})

    @app.post("/communication-preferences/v4/statuses/batch/read")
    def batch_statuses() -> Response:
        if (bad := channel_ok()) is not None:
            return bad
        return jsonify({"status": "COMPLETE", "startedAt": _now(), "completedAt": _now(),
                        "results": [{"subscriberIdString": email, "statuses": [
                            status_json(email, i) for i in state.definitions]}
                            for email in request.get_json()["inputs"]]})

    @app.post("/communication-preferences/v4/statuses/batch/write")
    def batch_write_statuses() -> Response:
        # BatchInputPublicStatusRequest: each input names its subscriber and type.
        results, errors = [], []
        for item in request.get_json()["inputs"]:
            sub_id, email = item["subscriptionId"], item["subscriberIdString"]
            if sub_id not in state.definitions:
                errors.append({"status": "error", "category": "VALIDATION_ERROR",
                               "message": f"Invalid subscription id {sub_id!r}", "context": {},
                               "errors": [], "links": {}})
                continue
            with state.lock:
                if item["statusState"] == "SUBSCRIBED":
                    state.opted_out.discard(email.lower())
                state.statuses[(email.lower(), sub_id)] = {
                    "status": item["statusState"], "legalBasis": item.get("legalBasis"),
                    "legalBasisExplanation": item.get("legalBasisExplanation"), "timestamp": _now()}
            results.append(status_json(email, sub_id))
        return _batch_answer(results, errors)

    @app.post("/communication-preferences/v4/statuses/batch/unsubscribe-all")
    def batch_unsubscribe_all() -> Response:
        if (bad := channel_ok()) is not None:
            return bad
        emails = request.get_json()["inputs"]
        with state.lock:
            for email in emails:
                state.opted_out.add(email.lower())
                for sub_id in state.definitions:
                    state.statuses[(email.lower(), sub_id)] = {"status": "UNSUBSCRIBED",
                                                               "timestamp": _now()}
        return jsonify({"status": "COMPLETE", "startedAt": _now(), "completedAt": _now(),
                        "results": [{"subscriberIdString": e, "statuses": [
                            status_json(e, i) for i in state.definitions]} for e in emails]})

    @app.post("/communication-preferences/v4/statuses/<email>")
    def set_status(email: str) -> Response:
        body = request.get_json()
        sub_id = body.get("subscriptionId")
        if not isinstance(sub_id, int) or sub_id not in state.definitions:
            return _error(400, f"Invalid subscription id {sub_id!r}", "VALIDATION_ERROR")
        if body.get("channel") != "EMAIL" or body.get("statusState") not in (
                "SUBSCRIBED", "UNSUBSCRIBED", "NOT_SPECIFIED"):
            return _error(400, "channel and statusState are required", "VALIDATION_ERROR")
        reason = "REQUESTED_CHANGE_OCCURRED"
        with state.lock:
            if body["statusState"] == "SUBSCRIBED" and email.lower() in state.opted_out:
                state.opted_out.discard(email.lower())
                reason = "RESUBSCRIBE_OCCURRED"
            state.statuses[(email.lower(), sub_id)] = {
                "status": body["statusState"], "legalBasis": body.get("legalBasis"),
                "legalBasisExplanation": body.get("legalBasisExplanation"), "timestamp": _now()}
        return jsonify({**status_json(email, sub_id), "setStatusSuccessReason": reason})

    @app.get("/communication-preferences/v4/statuses/<email>/unsubscribe-all")
    def wide_status(email: str) -> Response:
        if (bad := channel_ok()) is not None:
            return bad
        opted_out = email.lower() in state.opted_out
        return jsonify({"status": "COMPLETE", "startedAt": _now(), "completedAt": _now(),
                        "results": [{"subscriberIdString": email, "wideStatusType": "PORTAL_WIDE",
                                     "channel": "EMAIL", "timestamp": _now(), "businessUnitId": 0,
                                     "status": "UNSUBSCRIBED" if opted_out else "SUBSCRIBED"}]})

    @app.post("/communication-preferences/v4/statuses/<email>/unsubscribe-all")
    def unsubscribe_all(email: str) -> Response:
        if (bad := channel_ok()) is not None:
            return bad
        with state.lock:
            state.opted_out.add(email.lower())
            for sub_id in state.definitions:
                state.statuses[(email.lower(), sub_id)] = {"status": "UNSUBSCRIBED",
                                                           "timestamp": _now()}
        return jsonify({"status": "COMPLETE", "startedAt": _now(), "completedAt": _now(),
                        "results": [status_json(email, i) for i in state.definitions]})

    # lists -------------------------------------------------------------------------

    @app.get("/crm/v3/lists/records/0-1/<contact_id>/memberships")
    def memberships(contact_id: str) -> Response:
        return jsonify({"results": [
            {"listId": list_id, "listVersion": 1, "firstAddedTimestamp": _now(),
             "lastAddedTimestamp": _now(), "isPublicList": False}
            for list_id, spec in state.lists.items() if contact_id in spec["members"]]})

    @app.put("/crm/v3/lists/<list_id>/memberships/<action>")
    def change_membership(list_id: str, action: str) -> Response:
        spec = state.lists.get(list_id)
        if spec is None or action not in ("add", "remove"):
            return _error(404, f"List {list_id} not found", "OBJECT_NOT_FOUND")
        if spec["processingType"] == "DYNAMIC":
            return _error(400, "Memberships of DYNAMIC lists cannot be edited", "VALIDATION_ERROR")
        ids = [str(i) for i in request.get_json()]
        missing = [i for i in ids if i not in state.contacts]
        present = [i for i in ids if i in state.contacts]
        with state.lock:
            if action == "add":
                spec["members"].update(present)
                return jsonify({"recordsIdsAdded": present, "recordIdsMissing": missing})
            spec["members"].difference_update(present)
            return jsonify({"recordIdsRemoved": present, "recordIdsMissing": missing})

    @app.put("/crm/v3/lists/<list_id>/memberships/add-and-remove")
    def add_and_remove(list_id: str) -> Response:
        spec = state.lists.get(list_id)
        if spec is None:
            return _error(404, f"List {list_id} not found", "OBJECT_NOT_FOUND")
        if spec["processingType"] == "DYNAMIC":
            return _error(400, "Memberships of DYNAMIC lists cannot be edited", "VALIDATION_ERROR")
        body = request.get_json()
        add = [str(i) for i in body["recordIdsToAdd"] if str(i) in state.contacts]
        remove = [str(i) for i in body["recordIdsToRemove"] if str(i) in state.contacts]
        with state.lock:
            spec["members"].update(add)
            spec["members"].difference_update(remove)
        missing = [str(i) for i in [*body["recordIdsToAdd"], *body["recordIdsToRemove"]]
                   if str(i) not in state.contacts]
        return jsonify({"recordsIdsAdded": add, "recordIdsRemoved": remove,
                        "recordIdsMissing": missing})

    @app.post("/crm/v3/lists/search")
    def search_lists() -> Response:
        # ListSearchRequest: offset and additionalProperties are required (checked
        # against the spec by `strict`); `count` at most 500, `objectTypeId` filters.
        body = request.get_json()
        kind = body.get("objectTypeId")
        matching = [(i, s) for i, s in state.lists.items()
                    if kind is None or s.get("objectTypeId", "0-1") == kind]
        start, count = int(body["offset"]), min(int(body.get("count", 20)), 500)
        page = matching[start:start + count]
        return jsonify({"total": len(matching), "hasMore": start + count < len(matching),
                        "offset": start + len(page), "lists": [
            {"listId": i, "name": s["name"], "processingType": s["processingType"],
             "objectTypeId": s.get("objectTypeId", "0-1")} for i, s in page]})

    @app.post("/crm/v3/lists/records/memberships/batch/read")
    def batch_memberships() -> Response:
        results = [{"objectTypeId": "0-1", "recordId": str(i["recordId"]),
                    "recordListMemberships": [
                        {"listId": list_id, "listVersion": 1, "firstAddedTimestamp": _now(),
                         "lastAddedTimestamp": _now()}
                        for list_id, spec in state.lists.items() if i["recordId"] in spec["members"]]}
                   for i in request.get_json()["inputs"]]
        return jsonify({"status": "COMPLETE", "startedAt": _now(), "completedAt": _now(),
                        "results": results})

    # notes ---------------------------------------------------------------------------

    def note_from(body: dict[str, Any]) -> dict[str, Any] | Response:
        props = body.get("properties", {})
        if not props.get("hs_timestamp"):
            return _error(400, "hs_timestamp is required", "VALIDATION_ERROR")
        targets = [a["to"]["id"] for a in body.get("associations", [])
                   if any(t.get("associationTypeId") == NOTE_TO_CONTACT for t in a.get("types", []))]
        if len(targets) != 1 or targets[0] not in state.contacts:
            return _error(400, "The note must be associated to one contact", "VALIDATION_ERROR")
        note_id = str(next(state.ids))
        state.notes[note_id] = {"id": note_id, "contact": targets[0], "properties": dict(props)}
        return {"id": note_id, "properties": props, "createdAt": _now(), "updatedAt": _now(),
                "archived": False}

    @app.post("/crm/v3/objects/notes")
    def create_note() -> Response:
        answer = note_from(request.get_json())
        if isinstance(answer, Response):
            return answer
        response = jsonify(answer)
        response.status_code = 201
        return response

    @app.post("/crm/v3/objects/notes/batch/create")
    def batch_create_notes() -> Response:
        made = []
        for item in request.get_json()["inputs"]:
            answer = note_from(item)
            if isinstance(answer, Response):
                return answer
            made.append(answer)
        response = jsonify({"status": "COMPLETE", "startedAt": _now(), "completedAt": _now(),
                            "results": made})
        response.status_code = 201
        return response

    @app.post("/crm/v3/objects/notes/batch/read")
    def read_notes() -> Response:
        body = request.get_json()
        wanted = body.get("properties", [])
        results = [{"id": n["id"], "properties": {p: n["properties"].get(p) for p in wanted}}
                   for i in body.get("inputs", []) if (n := state.notes.get(str(i["id"])))]
        return jsonify({"status": "COMPLETE", "results": results})

    return app


def start() -> tuple[FakeServer, HubSpotState]:
    state = build_state()
    return FakeServer(create_app(state)).start(), state
