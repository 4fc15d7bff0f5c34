"""ActiveCampaign's bulk import, for the queue's changes of many contacts.

As the v3 reference documents "Bulk import contacts" and "Bulk import status
info" (api-evangelist/activecampaign, openapi/_original/activecampaign-v3.json):
`POST /import/bulk_import` takes up to 250 contacts, matched by email, with
their standard fields, custom `fields`, `tags` (added; "New tags will be
created if they do not already exist") and lists to `subscribe` to and
`unsubscribe` from; it answers a `batchId` and runs later, and
`GET /import/info?batchId=` then answers `{"status": "completed", "success":
[contact ids], "failure": [emails]}`. A payload that fails validation
answers 400 with `failureReasons`, and nothing is queued; so does the 101st
import in a minute.

Before importing, the contacts' current emails are read (100 a call): an
import matches by email and creates a contact where none has it.
What an import cannot do stays a call of its own: removing a tag, clearing
a value, changing the email (the import finds contacts by it), notes,
automations, and joining lists, since "contacts may not be subscribed to
lists which they have previously unsubscribed from" and a contact may ask
here to rejoin one. Below 10 contacts "contact/sync api request should be
used": the adapter writes those call by call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from portal.crm.base import (
    Change,
    CrmError,
    CrmRateLimited,
    CrmUnavailable,
    CrmValidationError,
    Value,
)
from portal.crm.http import CrmHttp
from portal.crm.planning import items_of, tag_plan

LEAST = 10  # "The suggested minimum number of contacts is 10"
MOST = 250  # "Up to 250 contacts may be included in a single request"
# Seconds between `import/info` polls: about a minute in all, within the queue's lease.
POLLS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
STANDARD = {"firstName": "first_name", "lastName": "last_name", "phone": "phone"}

Encode = Callable[[Change], list[dict[str, Any]]]  # a change's custom values as import `fields`


def import_row(change: Change, custom: Encode) -> dict[str, Any] | None:
    """The import's record for the part of `change` it can write, or None
    when the change must go call by call: it removes a tag, clears or
    changes the email, clears a value, or has nothing an import writes."""
    add, remove = tag_plan(change)
    if remove or any(u.field.crm_field == "email" or cleared(u.value) for u in change.fields):
        return None
    join, leave = items_of(change, "list")
    row: dict[str, Any] = {"email": change.email.strip()}
    row.update({STANDARD[u.field.crm_field]: str(u.value) for u in change.fields
                if u.field.crm_field in STANDARD})
    fields = custom(change)
    leaving = sorted({i.ref for i in leave} - {i.ref for i in join})
    if fields:
        row["fields"] = fields
    if add:
        row["tags"] = add
    if leaving:
        row["unsubscribe"] = [{"listid": list_id} for list_id in leaving]
    return row if len(row) > 1 else None


def cleared(value: Value) -> bool:
    """Whether a value empties its field (an unticked box too): the reference
    does not say that an import clears a field given an empty value."""
    return value is False or value is None or value == "" or value == []


def rest_of(change: Change) -> Change:
    """What is left of `change` once an import wrote its part: the lists it
    joins, its notes and automations."""
    return replace(change, fields=(), join=tuple(items_of(change, "list")[0]), leave=(),
                   add_tags=(), remove_tags=(), unsubscribe_all=None)


def emails(http: CrmHttp, refs: Sequence[str]) -> dict[str, str]:
    """The email each contact has now, by id: `GET /contacts?ids[]=` lists up
    to 100 a call. An import finds contacts by email, and makes one where
    none has it: a contact deleted since, or whose email changed, is not
    imported but written call by call (where a missing one is not found)."""
    found: dict[str, str] = {}
    for start in range(0, len(refs), 100):
        body = http.json("GET", "contacts", params={"ids[]": list(refs[start:start + 100]),
                                                    "limit": 100}) or {}
        found.update({str(c["id"]): str(c.get("email") or "") for c in body.get("contacts", [])})
    return found


def run(http: CrmHttp, crm: str, rows: Sequence[dict[str, Any]]
        ) -> tuple[set[str], set[str]] | None:
    """Import the records and wait for the import to end: the contact ids it
    wrote and the emails it refused, or None when its payload failed
    validation (then nothing was imported)."""
    answer = http.request("POST", "import/bulk_import", ok=(400,), json={"contacts": list(rows)})
    try:
        body = answer.json() if answer.content else {}
    except ValueError as exc:
        raise CrmUnavailable(f"{crm} answered the import with something that is not JSON.",
                             crm=crm) from exc
    if answer.status_code == 400:
        if "rate limit" in str(body.get("message", "")).lower():
            raise CrmRateLimited(f"{crm}: the import limit (100 a minute) is spent.", crm=crm,
                                 retry_after=60.0)
        return None
    batch = str(body.get("batchId") or "")
    for wait in POLLS:
        time.sleep(wait)
        info = http.json("GET", "import/info", params={"batchId": batch}) or {}
        if info.get("status") == "completed":
            return ({str(c) for c in info.get("success", [])},
                    {str(e).strip().casefold() for e in info.get("failure", [])})
    raise CrmUnavailable(f"{crm}: import {batch} did not end in time.", crm=crm)


def outcome(change: Change, wrote: set[str], refused: set[str], crm: str) -> CrmError | None:
    """The import's result for one change's record."""
    if change.contact_ref in wrote:
        return None
    if change.email.strip().casefold() in refused:
        return CrmValidationError(f"{crm} refused to import {change.email}.", crm=crm,
                                  field="email")
    return CrmValidationError(f"{crm} imported {change.email} to another contact than "
                              f"{change.contact_ref}: its email in {crm} has changed.", crm=crm)


def split(changes: Sequence[Change], custom: Encode) -> dict[str, dict[str, Any]]:
    """The import records of the changes an import can carry, by change id."""
    rows = {c.id: import_row(c, custom) for c in changes}
    return {key: row for key, row in rows.items() if row is not None}
