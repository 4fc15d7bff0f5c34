""""My history": the contact's changes made through the portal, newest first,
from the change events and the consent records, in the contact's language.

Fields and items are named as marketing names them today; an item the
layout no longer has is named by the wording the contact saw."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from portal.config import current
from portal.db import database
from portal.db.models import utcnow
from portal.i18n import text_for
from portal.rights.records.consent import JOINED, RecordedConsent, consents_of
from portal.rights.records.history import door_label, event_label, events_of

SHOWN = 50  # the page shows the latest changes; "My data" has them all


@dataclass
class HistoryEntry:
    at: datetime
    door: str
    what: str
    fields: list[str] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


def history(contact_ref: str, language: str, personal: bool, limit: int | None = SHOWN
            ) -> list[HistoryEntry]:
    """The contact's entries; without `personal` (a newsletter link) the
    fields that changed are not named."""
    config = current()
    since = utcnow() - timedelta(days=config.rights.history_days)
    with database().transaction() as db:
        events = events_of(db, contact_ref, since, limit)
        consents = consents_of(db, [contact_ref])
    by_change: dict[str, list[RecordedConsent]] = defaultdict(list)
    for consent in consents:
        by_change[consent.change_id].append(consent)
    labels = {spec.key: text_for(spec.label, language) for spec in config.fields}
    entries = []
    for event in events:
        entry = HistoryEntry(event.at, door_label(event.door), event_label(event.event))
        if personal:
            entry.fields = [labels.get(key, key) for key in event.fields]
        for consent in by_change.get(event.change_id, []):
            (entry.joined if consent.action == JOINED else entry.left).append(
                item_label(consent, language))
        entries.append(entry)
    return entries


def item_label(consent: RecordedConsent, language: str) -> str:
    item = next((i for i in current().items() if i.key == consent.item_key), None)
    return text_for(item.label, language) if item else consent.wording.label
