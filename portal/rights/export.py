""""My data": everything the portal shows and keeps about the contact, as
JSON and as a readable page: the exposed fields' values and the
subscriptions (from the CRM), the consent records with their wording, the
history, the open sessions and any address change under way.

When the CRM cannot answer, the download holds what the portal itself
keeps and says that the CRM's part is missing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.auth.session import SignedIn
from portal.config import current
from portal.crm.base import CrmError, Value
from portal.db import database
from portal.db.models import SessionRecord, utcnow
from portal.delivery.reader import contact_languages, crm_choices, read_profile
from portal.i18n import text_for
from portal.profile.views import shown_value
from portal.rights.history import HistoryEntry, history, item_label
from portal.rights.models import EmailChange
from portal.rights.records.consent import RecordedConsent, consents_of
from portal.rights.records.history import door_label

log = logging.getLogger(__name__)
# The legal bases (crm.base.LEGAL_BASES) as the contact reads them.
LEGAL_BASES = {
    "consent": _l("your consent"),
    "contract": _l("a contract with you (your membership, for example)"),
    "legal_obligation": _l("a legal obligation"),
    "vital_interests": _l("your vital interests"),
    "public_task": _l("a task in the public interest"),
    "legitimate_interest": _l("our legitimate interest"),
}


@dataclass(frozen=True)
class FieldValue:
    key: str
    label: str
    value: Value
    shown: str


@dataclass(frozen=True)
class Subscription:
    key: str
    label: str
    subscribed: bool
    legal_basis: str


@dataclass(frozen=True)
class OpenSession:
    door: str
    started: datetime
    last_used: datetime


@dataclass
class MyData:
    generated_at: datetime
    email: str
    name: str
    crm_answered: bool
    fields: list[FieldValue] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    languages: list[str] | None = None
    unsubscribed_from_all: bool | None = None
    consents: list[RecordedConsent] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    sessions: list[OpenSession] = field(default_factory=list)
    address_changes_asked: list[datetime] = field(default_factory=list)


def gather(who: SignedIn, language: str) -> MyData:
    contact = who.contact
    data = MyData(utcnow(), contact.email, contact.name, crm_answered=True)
    _from_crm(data, who, language)
    with database().transaction() as db:
        data.consents = consents_of(db, [contact.ref])
        data.sessions = [OpenSession(door or "", started, last) for door, started, last in db.execute(
            select(SessionRecord.door, SessionRecord.created_at, SessionRecord.last_seen_at)
            .where(SessionRecord.contact_ref == contact.ref, SessionRecord.expires_at > utcnow())
            .order_by(SessionRecord.created_at))]
        data.address_changes_asked = list(db.execute(
            select(EmailChange.requested_at).where(EmailChange.contact_ref == contact.ref,
                                                   EmailChange.confirmed_at.is_(None),
                                                   EmailChange.cancelled_at.is_(None))).scalars())
    data.history = history(contact.ref, language, personal=True, limit=None)
    return data


def _from_crm(data: MyData, who: SignedIn, language: str) -> None:
    config = current()
    try:
        profile = read_profile(who.contact)
        choices = crm_choices()
    except CrmError as exc:
        log.warning("My data without the CRM's part: %s", exc)
        data.crm_answered = False
        return
    data.fields = [FieldValue(spec.key, text_for(spec.label, language),
                              profile.values.get(spec.crm_field),
                              shown_value(spec, profile.values.get(spec.crm_field), language, choices))
                   for spec in config.fields if not spec.is_note]
    data.subscriptions = [Subscription(item.key, text_for(item.label, language),
                                       item.item in profile.subscribed, item.legal_basis)
                          for item in config.items()]
    if config.portal.language_preference.mode != "off":
        data.languages = contact_languages(config, profile)
    data.unsubscribed_from_all = profile.opted_out_all


def as_json(data: MyData, language: str) -> dict[str, Any]:
    def moment(value: datetime) -> str:
        return value.isoformat()

    return {
        "generated_at": moment(data.generated_at),
        "organisation": current().portal.name,
        "contact": {"email": data.email, "name": data.name},
        "crm": {"answered": data.crm_answered} if data.crm_answered else {
            "answered": False, "note": _("Our contact records did not answer: your details and "
                                         "subscriptions kept there are missing from this copy. "
                                         "Please try again later.")},
        "fields": [{"key": f.key, "label": f.label, "value": f.value} for f in data.fields],
        "subscriptions": [{"key": s.key, "label": s.label, "subscribed": s.subscribed,
                           "legal_basis": s.legal_basis} for s in data.subscriptions],
        "email_languages": data.languages,
        "unsubscribed_from_all": data.unsubscribed_from_all,
        "consent_records": [{
            "at": moment(c.at), "item": c.item_key, "label": item_label(c, language),
            "crm_item": c.item, "action": c.action, "door": c.door, "language": c.language,
            "legal_basis": c.legal_basis, "wording": {"label": c.wording.label,
                                                      "description": c.wording.description,
                                                      "sha256": c.wording_hash}}
            for c in data.consents],
        "history": [{"at": moment(h.at), "door": h.door, "what": h.what, "fields": h.fields,
                     "joined": h.joined, "left": h.left} for h in data.history],
        "sessions": [{"door": door_label(s.door), "started": moment(s.started),
                      "last_used": moment(s.last_used)} for s in data.sessions],
        "address_changes_waiting_for_confirmation": [moment(a) for a in data.address_changes_asked],
    }
