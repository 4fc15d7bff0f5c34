"""Saving a contact's change with its records: the call every door makes.

`submit_recorded` hands the change to the writer with its consent records
attached (as each CRM can hold them), and once the CRM has it or the queue
keeps it, stores the consent records, a line of the contact's history and
the receipt in one transaction, and sends the receipt. Recording and the receipt never fail the save: the
change is in the CRM, or on its way, either way.

A door that writes subscriptions without the profile page (a one-click
unsubscribe) calls it too, with the profile as far as it knows it:

    submit_recorded(contact, Profile(contact, subscribed=frozenset({item.item})),
                    Change(contact.ref, contact.email, leave=(item.item,)),
                    door="one-click", language=language)

or, when it writes the CRM itself, `record_consents` alone."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from portal.config import ItemSpec, current
from portal.crm.base import Change, Contact, Profile
from portal.db import database
from portal.db.models import utcnow
from portal.delivery import delivery
from portal.delivery.writer import Outcome, WriteResult
from portal.rights.records.consent import store_consents, with_consent
from portal.rights.records.history import SAVED, UNSUBSCRIBED_ALL, store_event
from portal.rights.records.receipts import Receipt, write_receipt
from portal.rights.records.summary import ShowValue, Summary, plain_value, summarise

log = logging.getLogger(__name__)


def submit_recorded(contact: Contact, before: Profile, change: Change, *, door: str,
                    language: str, show: ShowValue = plain_value, event: str = "") -> WriteResult:
    """Submit `change` (made by `contact` through `door`, reading `language`,
    from the profile `before`); record it and send the receipt if it is
    applied or queued. `contact.email` is where the receipt goes."""
    config = current()
    summary = summarise(config, before, change)
    if event == UNSUBSCRIBED_ALL:  # its groups left, even where the CRM has no opt-out of all set
        summary = replace(summary, unsubscribed_all=True)
    at = utcnow()
    change = with_consent(config, change, summary.joined, summary.left, door, language, at)
    result = delivery().writer.submit(change)
    if result.outcome not in (Outcome.APPLIED, Outcome.QUEUED) or summary.is_empty():
        return result
    event = event or (UNSUBSCRIBED_ALL if summary.unsubscribed_all else SAVED)
    receipt = None
    if config.rights.receipts:
        try:
            receipt = write_receipt(config, contact, change.id, summary, door, language, at, show)
        except Exception:  # the receipt is a courtesy: the save stands
            log.exception("The receipt of change %s could not be prepared", change.id)
    remember(contact.ref, change.id, summary, door, language, at, event, receipt)
    return result


def remember(contact_ref: str, change_id: str, summary: Summary, door: str, language: str,
             at: datetime, event: str, receipt: Receipt | None = None) -> None:
    """Store the consent records and the history event of a change, and its
    receipt if any, in one transaction; then send the receipt."""
    try:
        with database().transaction() as db:
            store_consents(db, contact_ref, change_id, summary.joined, summary.left, door,
                           language, at)
            store_event(db, contact_ref, change_id, event, door, language, at, summary.field_keys)
            send = receipt.keep(db) if receipt is not None else None
    except SQLAlchemyError:
        log.exception("The records of change %s could not be stored", change_id)
        return
    if send is not None:
        send()


def record_consents(contact_ref: str, change_id: str, *, joined: Sequence[ItemSpec] = (),
                    left: Sequence[ItemSpec] = (), door: str, language: str) -> None:
    """Store the consent records (and the history line) of joins and leaves a
    door wrote to the CRM itself."""
    remember(contact_ref, change_id, Summary(joined=tuple(joined), left=tuple(left)), door,
             language, utcnow(), SAVED)
