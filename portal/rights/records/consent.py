"""Consent records: every join and leave of an item, with the exact wording
the contact saw (kept once per distinct text, referred to by its SHA-256),
the door, the language and the legal basis marketing set for the item.

The same record travels to the CRM with the change: as a `Consent` per item
(HubSpot keeps the legal basis and explanation on the subscription status)
and as a note every CRM keeps, written in the portal's default language for
the organisation's staff."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Connection, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.config import Config, ItemSpec
from portal.crm.base import Change, Consent, ItemRef, Note
from portal.i18n import text_for
from portal.rights.models import ConsentRecord, ConsentText
from portal.rights.records.history import door_label

JOINED, LEFT = "joined", "left"


@dataclass(frozen=True)
class Wording:
    """What the contact read next to the box, in the language they read it."""

    label: str
    description: str

    @property
    def hash(self) -> str:
        text = json.dumps([self.label, self.description], ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class RecordedConsent:
    contact_ref: str
    at: datetime
    item_key: str
    item: str
    action: str
    door: str
    language: str
    legal_basis: str
    wording: Wording
    wording_hash: str
    change_id: str


def wording_of(item: ItemSpec, language: str) -> Wording:
    return Wording(text_for(item.label, language), text_for(item.description, language))


def item_name(item: ItemRef) -> str:
    """The item as the CRM names it: kind:ref, and :value for an option."""
    return ":".join(part for part in (item.kind, item.ref, item.value) if part)


def with_consent(config: Config, change: Change, joined: Sequence[ItemSpec],
                 left: Sequence[ItemSpec], door: str, language: str, at: datetime) -> Change:
    """`change` carrying the consent records of its joins and leaves, the way
    each CRM can hold them."""
    if not (joined or left):
        return change
    staff = config.portal.default_language
    with force_locale(staff):
        lines = [_consent_line(item, action, door, language, at)
                 for action, items in ((JOINED, joined), (LEFT, left)) for item in items]
        consents = tuple(Consent(item.item, item.legal_basis, line)
                         for item, line in zip([*joined, *left], lines, strict=True))
        note = Note(title=_("Consent record from the preference portal"),
                    body="\n".join([*lines, "", change.note_marker()]))
    return replace(change, consents=change.consents + consents, notes=(*change.notes, note))


def _consent_line(item: ItemSpec, action: str, door: str, language: str, at: datetime) -> str:
    wording = wording_of(item, language)
    shown = f"«{wording.label}»" + (f" «{wording.description}»" if wording.description else "")
    values = {"item": text_for(item.label), "ref": item_name(item.item),
              "when": at.strftime("%Y-%m-%d %H:%M UTC"), "door": door_label(door),
              "language": language, "wording": shown, "hash": wording.hash[:16],
              "basis": item.legal_basis}
    if action == JOINED:
        return str(_("%(item)s (%(ref)s): joined on %(when)s through %(door)s, in "
                     "%(language)s: %(wording)s (wording %(hash)s); legal basis: %(basis)s",
                     **values))
    return str(_("%(item)s (%(ref)s): left on %(when)s through %(door)s, in %(language)s: "
                 "%(wording)s (wording %(hash)s); legal basis: %(basis)s", **values))


def store_consents(db: Connection, contact_ref: str, change_id: str, joined: Sequence[ItemSpec],
                   left: Sequence[ItemSpec], door: str, language: str, at: datetime) -> None:
    for action, items in ((JOINED, joined), (LEFT, left)):
        for item in items:
            wording = wording_of(item, language)
            _keep_wording(db, wording, at)
            db.execute(insert(ConsentRecord), dict(
                contact_ref=contact_ref, change_id=change_id, item_key=item.key,
                item=item_name(item.item), action=action, at=at, door=door, language=language,
                text_hash=wording.hash, legal_basis=item.legal_basis))


def _keep_wording(db: Connection, wording: Wording, at: datetime) -> None:
    """Keep a text once, however many records point to it (and whichever
    worker writes it first)."""
    insert_of = postgresql_insert if db.dialect.name == "postgresql" else sqlite_insert
    db.execute(insert_of(ConsentText).values(
        hash=wording.hash, label=wording.label, description=wording.description,
        first_shown_at=at).on_conflict_do_nothing(index_elements=["hash"]))


def consents_of(db: Connection, contact_refs: Sequence[str]) -> list[RecordedConsent]:
    """A contact's consent records, oldest first, with their wording."""
    rows = db.execute(
        select(ConsentRecord.__table__, ConsentText.label, ConsentText.description)
        .join(ConsentText, ConsentText.hash == ConsentRecord.text_hash)
        .where(ConsentRecord.contact_ref.in_(contact_refs))
        .order_by(ConsentRecord.at, ConsentRecord.id))
    return [RecordedConsent(r.contact_ref, r.at, r.item_key, r.item, r.action, r.door, r.language,
                            r.legal_basis, Wording(r.label, r.description), r.text_hash,
                            r.change_id) for r in rows]
