"""The contact's history: one event per change made through the portal (a
save, an address change, a report that a change was not theirs), naming the
fields that changed and never their values; the items joined and left are
the consent records of the same change.

Doors are named by the session's `via`; a door this module has no words for
is shown by its name, so that new doors need nothing here to be recorded."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Connection, insert, select

from portal.rights.models import ChangeEvent

SAVED = "saved"
UNSUBSCRIBED_ALL = "unsubscribed_all"
EMAIL_CHANGE_ASKED = "email_change_asked"
EMAIL_CHANGED = "email_changed"
EMAIL_CHANGE_CANCELLED = "email_change_cancelled"
EMAIL_RESTORED = "email_restored"
NOT_ME = "not_me"

EVENTS = {
    SAVED: _l("Changes saved"),
    UNSUBSCRIBED_ALL: _l("Unsubscribed from all our emails"),
    EMAIL_CHANGE_ASKED: _l("Asked to change the email address"),
    EMAIL_CHANGED: _l("Email address changed"),
    EMAIL_CHANGE_CANCELLED: _l("Email address change cancelled"),
    EMAIL_RESTORED: _l("Email address put back"),
    NOT_ME: _l("Reported as not made by you"),
}
DOORS = {
    "link": _l("an emailed link"),
    "newsletter": _l("the link in a newsletter"),
    "wordpress": _l("the account on our website"),
    "one-click": _l("a one-click unsubscribe link"),
    "register": _l("the sign-up form"),
}


def door_label(door: str) -> str:
    return str(DOORS.get(door, door))


def event_label(event: str) -> str:
    return str(EVENTS.get(event, event))


@dataclass(frozen=True)
class Event:
    at: datetime
    door: str
    language: str
    event: str
    fields: tuple[str, ...]  # keys of the fields that changed
    change_id: str


def store_event(db: Connection, contact_ref: str, change_id: str, event: str, door: str,
                language: str, at: datetime, fields: Sequence[str] = ()) -> None:
    db.execute(insert(ChangeEvent), dict(
        contact_ref=contact_ref, change_id=change_id, at=at, door=door, language=language,
        event=event, fields=json.dumps(list(fields))))


def events_of(db: Connection, contact_ref: str, since: datetime, limit: int | None = None
              ) -> list[Event]:
    """The contact's events since `since`, newest first."""
    query = (select(ChangeEvent.__table__).where(ChangeEvent.contact_ref == contact_ref,
                                                 ChangeEvent.at >= since)
             .order_by(ChangeEvent.at.desc(), ChangeEvent.id.desc()))
    if limit is not None:
        query = query.limit(limit)
    return [Event(e.at, e.door, e.language, e.event, tuple(json.loads(e.fields or "[]")),
                  e.change_id) for e in db.execute(query)]
