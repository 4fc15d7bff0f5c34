"""A fake self-hosted Mautic (4.x/5.x REST API) over loopback HTTP.

Follows mautic/developer-documentation (source/includes/_api_endpoint_contacts.md,
_api_endpoint_segments.md, _api_endpoint_notes.md, _api_endpoint_campaigns.md,
_api_endpoint_fields.md, _api_authorization_oauth2.md, _api_rate_limiter.md) and
mautic/api-library (lib/Api/Contacts.php, Segments.php, Notes.php):

- auth: HTTP Basic (api user) or a Bearer token from `POST /oauth/v2/token`
  with `grant_type=client_credentials` (form) → `{access_token, expires_in, token_type}`;
  a bad login answers 401 `{"errors": [{"message", "code": 401, "type": null}]}`.
- `GET /api/contacts?search=email:<address>` → `{"total": "N", "contacts": {"<id>": {...}}}`,
  and `"contacts": []` when nothing matches (PHP serialises an empty map as a list).
  The `email:` command is treated as a substring match (the docs do not say it is exact).
- `GET /api/contacts/{id}` → `{"contact": {"id", "dateAdded", "dateModified",
  "fields": {"core": {...}, "all": {alias: value}}, "tags": [{"id", "tag"}],
  "doNotContact": [{"id", "reason", "comments", "channel", "channelId"}]}}`.
- `POST /api/contacts/new` with field aliases → 201 `{"contact": {...}}` ("Create Contact").
  Email is the default unique identifier: as Mautic's LeadApiController does
  (`getNewEntity` → `checkForDuplicateContact`), a taken email updates that contact with
  the posted non-blank fields and answers 200 with it instead of creating another.
- `PATCH /api/contacts/{id}/edit` updates only the sent aliases (404 if missing);
  blank values are ignored unless `overwriteWithBlank` is true; `"tags": ["a", "-b"]`
  adds a and removes b; multiselect values as `a|b`; an invalid email answers
  400 `{"errors": [{"code": 400, "message": "email: A valid email is required.", "details"}]}`.
- `GET /api/contacts/{id}/segments` → `{"total", "segments": {"<id>": {"id", "name", "alias"}}}`.
- `POST /api/segments/{sid}/contact/{cid}/add|remove` → `{"success": true}`.
- `POST /api/contacts/{id}/dnc/email/add` (`reason`: 1 unsubscribed, 2 bounced, 3 manual;
  `comments`) and `.../dnc/email/remove`, both answering the contact.
- `GET /api/contacts/{id}/notes` → `{"total", "notes": [{"id", "text", "type", "dateTime"}]}`,
  `POST /api/notes/new` `{"lead", "text", "type"}` → 201 `{"note": {...}}`.
- `POST /api/campaigns/{id}/contact/{cid}/add` → `{"success": true}`.
- `GET /api/fields/contact`, `GET /api/segments`, `GET /api/tags`, `GET /api/campaigns`.
- rate limit (off by default in Mautic; here a setting): 429 with
  `{"errors": [{"code": 429, "message": "You exceeded the rate limit of N API calls per hour."}]}`
  and `X-RateLimit-Limit/-Remaining/-Reset` headers (reset as an epoch time).
"""

from __future__ import annotations

import base64
import itertools
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request

from tests.fakes.server import FakeServer

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CORE = ("email", "firstname", "lastname", "phone", "country")


def m_time(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).isoformat(timespec="seconds")


def errors(status: int, message: str, **extra: Any) -> tuple[Response, int]:
    return jsonify({"errors": [{"message": message, "code": status, "type": None, **extra}]}), status


@dataclass
class MauticState:
    username: str = "api-user"
    password: str = "mautic-pass-1234"
    client_id: str = "1_portalclient"
    client_secret: str = "mautic-client-secret-5678"
    tokens: set[str] = field(default_factory=set)
    token_requests: int = 0
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    segments: dict[int, dict[str, Any]] = field(default_factory=dict)
    campaigns: dict[int, dict[str, Any]] = field(default_factory=dict)
    campaign_members: list[tuple[int, int]] = field(default_factory=list)  # (campaign, contact)
    tag_ids: dict[str, int] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)
    hourly_limit: int = 100
    ids: itertools.count = field(default_factory=lambda: itertools.count(40))
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        for alias, type_ in (("email", "email"), ("firstname", "text"), ("lastname", "text"),
                             ("phone", "tel"), ("country", "country")):
            self.add_field(alias, alias.title(), type_)

    # seeding -------------------------------------------------------------------

    def add_field(self, alias: str, label: str, type_: str, choices: tuple[str, ...] = ()) -> None:
        props: Any = {"list": [{"label": c.title(), "value": c} for c in choices]} if choices else []
        if type_ == "boolean":
            props = {"no": "No", "yes": "Yes"}
        self.fields[alias] = {"id": next(self.ids), "label": label, "alias": alias, "type": type_,
                              "group": "core", "object": "lead", "isPublished": True,
                              "properties": props}

    def add_segment(self, name: str) -> int:
        sid = next(self.ids)
        self.segments[sid] = {"id": sid, "name": name, "alias": name.lower().replace(" ", "-"),
                              "isPublished": True, "isGlobal": True}
        return sid

    def add_campaign(self, name: str) -> int:
        cid = next(self.ids)
        self.campaigns[cid] = {"id": cid, "name": name, "isPublished": True}
        return cid

    def add_contact(self, email: str, modified: datetime) -> int:
        cid = next(self.ids)
        self.contacts[cid] = {"id": cid, "dateAdded": m_time(modified), "dateModified": m_time(modified),
                              "values": {"email": email}, "tags": set(), "dnc": [], "segments": set()}
        return cid

    def tag(self, cid: int, name: str) -> None:
        self.tag_ids.setdefault(name, len(self.tag_ids) + 1)
        self.contacts[cid]["tags"].add(name)

    # reading for tests and answers ---------------------------------------------

    def notes_of(self, cid: int) -> list[str]:
        return [n["text"] for n in self.notes if n["lead"] == cid]

    def contact_json(self, cid: int) -> dict[str, Any]:
        c = self.contacts[cid]
        values = {alias: c["values"].get(alias) for alias in self.fields}
        core = {alias: {"id": str(f["id"]), "label": f["label"], "alias": alias, "type": f["type"],
                        "group": "core", "value": values[alias]} for alias, f in self.fields.items()}
        return {
            "id": cid, "dateAdded": c["dateAdded"], "dateModified": c["dateModified"], "points": 0,
            "fields": {"core": core, "social": [], "personal": [], "professional": [],
                       "all": {"id": cid, **values}},
            "tags": [{"id": self.tag_ids[t], "tag": t} for t in sorted(c["tags"])],
            "doNotContact": c["dnc"], "utmtags": [], "ipAddresses": [],
        }


def create_app(state: MauticState) -> Flask:
    app = Flask("fake-mautic")

    @app.errorhandler(404)
    def _not_found(exc: Exception) -> Any:
        return errors(404, "Item was not found.")

    @app.errorhandler(405)
    def _not_allowed(exc: Exception) -> Any:
        return errors(405, "Method not allowed.")

    @app.before_request
    def _auth() -> Any:
        if request.path == "/oauth/v2/token":
            return None
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            expected = base64.b64encode(f"{state.username}:{state.password}".encode()).decode()
            if header == f"Basic {expected}":
                return None
        elif header.startswith("Bearer ") and header[7:] in state.tokens:
            return None
        return errors(401, "API authorization denied.")

    @app.post("/oauth/v2/token")
    def token() -> Any:
        form = request.form
        state.token_requests += 1
        if form.get("grant_type") != "client_credentials":
            return jsonify({"error": "unsupported_grant_type",
                            "error_description": "Grant type not supported."}), 400
        if (form.get("client_id"), form.get("client_secret")) != (state.client_id, state.client_secret):
            return jsonify({"error": "invalid_client",
                            "error_description": "The client credentials are invalid"}), 400
        access = secrets.token_urlsafe(16)
        state.tokens.add(access)
        return jsonify({"access_token": access, "expires_in": 3600, "token_type": "bearer",
                        "scope": ""})

    def contact_or_404(cid: int) -> dict[str, Any] | None:
        return state.contacts.get(cid)

    @app.get("/api/contacts")
    def list_contacts() -> Any:
        search = request.args.get("search", "")
        needle = search[6:].strip().strip('"').lower() if search.startswith("email:") else ""
        with state.lock:
            found = {str(cid): state.contact_json(cid) for cid, c in state.contacts.items()
                     if needle in str(c["values"].get("email", "")).lower()}
        return jsonify({"total": str(len(found)), "contacts": found or []})

    @app.get("/api/contacts/<int:cid>")
    def get_contact(cid: int) -> Any:
        with state.lock:
            if contact_or_404(cid) is None:
                return errors(404, "Item was not found.")
            return jsonify({"contact": state.contact_json(cid)})

    @app.post("/api/contacts/new")
    def new_contact() -> Any:
        body = request.get_json(silent=True) or {}
        email = str(body.get("email") or "").strip()
        if email and not EMAIL.match(email):
            return errors(400, "email: A valid email is required.",
                          details={"email": ["A valid email is required."]})
        with state.lock:
            cid = next((cid for cid, c in state.contacts.items() if email and
                        str(c["values"].get("email") or "").lower() == email.lower()), None)
            status = 200
            if cid is None:
                cid, status = state.add_contact(email, datetime.now(UTC)), 201
            edited = edit_contact(cid)
            return edited, status

    @app.patch("/api/contacts/<int:cid>/edit")
    def edit_contact(cid: int) -> Any:
        body = request.get_json(silent=True) or {}
        with state.lock:
            contact = contact_or_404(cid)
            if contact is None:
                return errors(404, "Item was not found.")
            if "email" in body and body["email"] and not EMAIL.match(str(body["email"])):
                return errors(400, "email: A valid email is required.",
                              details={"email": ["A valid email is required."]})
            blank_ok = bool(body.get("overwriteWithBlank"))
            for alias, value in body.items():
                if alias not in state.fields:
                    continue
                if value in ("", None, []) and not blank_ok:
                    continue
                if isinstance(value, list):
                    value = "|".join(value)
                if isinstance(value, bool):
                    value = int(value)
                contact["values"][alias] = None if value in ("", None) else value
            for tag in body.get("tags", []):
                if tag.startswith("-"):
                    contact["tags"].discard(tag[1:])
                else:
                    state.tag(cid, tag)
            contact["dateModified"] = m_time()
            return jsonify({"contact": state.contact_json(cid)})

    @app.get("/api/contacts/<int:cid>/segments")
    def contact_segments(cid: int) -> Any:
        with state.lock:
            contact = contact_or_404(cid)
            if contact is None:
                return errors(404, "Item was not found.")
            found = {str(s): {**state.segments[s], "dateAdded": m_time(), "manuallyAdded": True,
                              "manuallyRemoved": False} for s in sorted(contact["segments"])}
        return jsonify({"total": len(found), "segments": found or []})

    @app.post("/api/segments/<int:sid>/contact/<int:cid>/<action>")
    def segment_membership(sid: int, cid: int, action: str) -> Any:
        with state.lock:
            contact = contact_or_404(cid)
            if contact is None or sid not in state.segments or action not in ("add", "remove"):
                return errors(404, "Item was not found.")
            if action == "add":
                contact["segments"].add(sid)
            else:
                contact["segments"].discard(sid)
        return jsonify({"success": True})

    @app.post("/api/contacts/<int:cid>/dnc/<channel>/<action>")
    def dnc(cid: int, channel: str, action: str) -> Any:
        body = request.get_json(silent=True) or request.form.to_dict()
        with state.lock:
            contact = contact_or_404(cid)
            if contact is None or action not in ("add", "remove"):
                return errors(404, "Item was not found.")
            contact["dnc"] = [d for d in contact["dnc"] if d["channel"] != channel]
            if action == "add":
                contact["dnc"].append({"id": next(state.ids), "reason": int(body.get("reason", 3)),
                                       "comments": body.get("comments", ""), "channel": channel,
                                       "channelId": None})
            return jsonify({"contact": state.contact_json(cid)})

    @app.get("/api/contacts/<int:cid>/notes")
    def contact_notes(cid: int) -> Any:
        with state.lock:
            if contact_or_404(cid) is None:
                return errors(404, "Item was not found.")
            found = [{k: n[k] for k in ("id", "text", "type", "dateTime")}
                     for n in state.notes if n["lead"] == cid]
        return jsonify({"total": len(found), "notes": found})

    @app.post("/api/notes/new")
    def new_note() -> Any:
        body = request.get_json(silent=True) or request.form.to_dict()
        with state.lock:
            cid = int(body.get("lead") or 0)
            if contact_or_404(cid) is None:
                return errors(400, "lead: Contact not found.")
            note = {"id": next(state.ids), "text": str(body.get("text", "")),
                    "type": body.get("type", "general"), "dateTime": m_time(), "lead": cid}
            state.notes.append(note)
        return jsonify({"note": {**note, "lead": {"id": cid}}}), 201

    @app.post("/api/campaigns/<int:camp>/contact/<int:cid>/add")
    def campaign_add(camp: int, cid: int) -> Any:
        with state.lock:
            if contact_or_404(cid) is None or camp not in state.campaigns:
                return errors(404, "Item was not found.")
            state.campaign_members.append((camp, cid))
        return jsonify({"success": True})

    def page(rows: list[Any]) -> list[Any]:
        # "start" and "limit" (30 by default), as the API's collections page.
        start, limit = int(request.args.get("start", 0)), int(request.args.get("limit", 30))
        return rows[start:start + limit]

    @app.get("/api/fields/contact")
    def fields() -> Any:
        found = list(state.fields.values())
        return jsonify({"total": len(found), "fields": page(found)})

    @app.get("/api/segments")
    def segments() -> Any:
        return jsonify({"total": len(state.segments), "lists": {
            str(k): v for k, v in page(list(state.segments.items()))}})

    @app.get("/api/tags")
    def tags() -> Any:
        return jsonify({"total": len(state.tag_ids),
                        "tags": page([{"id": i, "tag": t} for t, i in state.tag_ids.items()])})

    @app.get("/api/campaigns")
    def campaigns() -> Any:
        return jsonify({"total": len(state.campaigns), "campaigns": {
            str(k): v for k, v in page(list(state.campaigns.items()))}})

    return app


def rate_limited(state: MauticState) -> Response:
    response = jsonify({"errors": [{"code": 429, "message": "You exceeded the rate limit of "
                                    f"{state.hourly_limit} API calls per hour.", "details": []}]})
    response.status_code = 429
    response.headers["X-RateLimit-Limit"] = str(state.hourly_limit)
    response.headers["X-RateLimit-Remaining"] = "0"
    response.headers["X-RateLimit-Reset"] = str(int(time.time()) + 60)
    return response


def serve(state: MauticState | None = None, *, latency: float = 0.0,
          per_second: int = 0) -> tuple[FakeServer, MauticState]:
    """Start the fake; `latency` (seconds) and `per_second` (0: no limit) are the
    benchmark's knobs, also reachable later through `server.faults`."""
    state = state or MauticState()
    server = FakeServer(create_app(state))
    server.faults.rate_limit_response = lambda: rate_limited(state)
    server.faults.latency, server.faults.per_second = latency, per_second
    return server.start(), state
