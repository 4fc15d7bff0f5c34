""""Forget me": a contact's request to be erased, confirmed on a second page.

The portal unsubscribes the contact from everything and writes the request
to the CRM as marketing configured it (`[rights] erasure_tags` and
`erasure_automations`, and a note), through the writer: when the CRM is
down the request waits in the queue like any change, and nothing is lost.
The embedded CRM deletes the contact for real (`Change.erase`). The
data-protection address gets the request, the contact an acknowledgement
that says what happened, and the portal deletes what it keeps about them
except the proof that the request was received and honoured; every session
of theirs ends."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from flask import current_app, render_template
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from sqlalchemy import delete, insert

from portal.auth.links import email_fingerprint
from portal.auth.session import SignedIn, end_sessions_of
from portal.config import Config, current
from portal.crm.base import Change, Contact, FieldRef, FieldUpdate, Note
from portal.db import database
from portal.db.keys import Keys
from portal.db.models import utcnow
from portal.delivery import delivery
from portal.delivery.writer import Outcome, WriteResult
from portal.mail import Draft
from portal.rights.models import ChangeEvent, ConsentRecord, EmailChange, Erasure
from portal.rights.notify import organisation_address
from portal.rights.records import rights_records
from portal.rights.records.history import door_label


@dataclass(frozen=True)
class ErasureDone:
    """What happened, as the contact is told: `crm` is applied, queued,
    refused or failed (the writer's outcome)."""

    crm: str
    reason: str = ""

    @property
    def crm_has_it(self) -> bool:
        return self.crm in (Outcome.APPLIED.value, Outcome.QUEUED.value)


def forget(who: SignedIn, language: str) -> ErasureDone:
    config = current()
    contact, at = who.contact, utcnow()
    change = erasure_change(config, contact, who.via, at)
    result = delivery().writer.submit(change)
    done = ErasureDone(result.outcome.value, _reason(result))
    _forget_what_the_portal_keeps(contact.ref)
    with database().transaction() as db:
        db.execute(insert(Erasure).values(
            contact_ref=contact.ref, requested_at=at, door=who.via, language=language,
            email_hash=email_fingerprint(Keys(current_app.config["SECRET_KEY"]), contact.email),
            change_id=change.id,
            crm_outcome=done.crm, records_deleted_at=utcnow()))
    parts = delivery()
    parts.profiles.forget(parts.crm.name, contact.ref)
    outbox = rights_records().outbox
    outbox.post(_request(config, contact, who.via, at, done), "erasure-request")
    outbox.post(_acknowledgement(config, contact, language, at, done), "erasure-ack")
    end_sessions_of(contact.ref)
    return done


def erasure_change(config: Config, contact: Contact, door: str, at: datetime) -> Change:
    """Leave every item, opt out of all email, tell the CRM as marketing chose."""
    settings = config.rights
    with force_locale(config.portal.default_language):
        note = Note(title=_("Erasure request from the preference portal"), body=_(
            "On %(when)s the contact asked, through %(door)s, to be forgotten (GDPR article "
            "17). The portal unsubscribed them from every list, deleted what it kept about them "
            "except the proof of this request, and sent the request to %(address)s. Please "
            "erase or anonymise this contact here and in every other system that holds them, "
            "within one month.", when=at.strftime("%Y-%m-%d %H:%M UTC"), door=door_label(door),
            address=organisation_address(config)))
    token = config.portal.newsletter_token_field  # their newsletter links stop working
    change = Change(contact_ref=contact.ref, email=contact.email, name=contact.name,
                    fields=(FieldUpdate(FieldRef(token, "text"), None),) if token else (),
                    leave=tuple(item.item for item in config.items()), unsubscribe_all=True,
                    add_tags=settings.erasure_tags, automations=settings.erasure_automations,
                    erase=True)
    return replace(change, notes=(Note(note.title, f"{note.body}\n\n{change.note_marker()}"),))


def _forget_what_the_portal_keeps(contact_ref: str) -> None:
    records = rights_records()
    records.outbox.forget_contact(contact_ref)
    records.links.forget_contact(contact_ref)
    with database().transaction() as db:
        for table in (ConsentRecord, ChangeEvent, EmailChange):
            db.execute(delete(table).where(table.contact_ref == contact_ref))


def _reason(result: WriteResult) -> str:
    error = result.error
    return getattr(error, "reason", "") or (str(error) if error else "")


def _request(config: Config, contact: Contact, door: str, at: datetime, done: ErasureDone
             ) -> Draft:
    staff = config.portal.default_language
    with force_locale(staff):
        values = {"site": config.portal.name, "email": contact.email, "name": contact.name,
                  "ref": contact.ref, "door": door_label(door), "done": done,
                  "when": format_datetime(at, "long")}
        return Draft(
            to=organisation_address(config),
            subject=_("Erasure request: %(email)s", email=contact.email),
            text=render_template("emails/erasure_request.txt", **values), language=staff)


def _acknowledgement(config: Config, contact: Contact, language: str, at: datetime,
                     done: ErasureDone) -> Draft:
    with force_locale(language):
        values = {"site": config.portal.name, "done": done, "language": language,
                  "address": organisation_address(config), "when": format_datetime(at, "long")}
        return Draft(
            to=contact.email,
            subject=_("We have received your request to be forgotten"),
            text=render_template("emails/erasure_ack.txt", **values),
            html=render_template("emails/erasure_ack.html", **values), language=language)
