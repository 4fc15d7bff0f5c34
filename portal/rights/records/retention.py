"""How long the rights' records are kept (`[rights]`, and the README's "Your
contacts' rights"): history events for `history_days`, links a day past
their expiry, address change requests once their "this was not me" links
are gone, erasure proofs for `erasure_proof_days`. Consent records stay
while the contact is a contact: they are the proof of consent.

Purging rides on requests, at most once an hour per process, after the answer."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import delete, exists

from portal.config import current
from portal.db import database
from portal.db.engine import Every
from portal.db.models import utcnow
from portal.rights.models import ChangeEvent, EmailChange, Erasure, RightsLink
from portal.rights.records.parts import rights_records

KEPT_AFTER_EXPIRY = timedelta(days=1)  # an old link is told apart from an unknown one
_purging = Every(3600)


def purge_when_due(app: Flask) -> None:
    if _purging.due():
        rights_records(app).background.submit(purge, app)


def purge(app: Flask) -> None:
    with app.app_context():
        settings = current().rights
    now = utcnow()
    with database(app).transaction() as db:
        db.execute(delete(ChangeEvent).where(
            ChangeEvent.at < now - timedelta(days=settings.history_days)))
        db.execute(delete(RightsLink).where(RightsLink.expires_at <= now - KEPT_AFTER_EXPIRY))
        linked = exists().where(RightsLink.email_change_id == EmailChange.id)
        db.execute(delete(EmailChange).where(
            EmailChange.requested_at < now - timedelta(days=settings.not_me_days) - KEPT_AFTER_EXPIRY,
            ~linked))
        db.execute(delete(Erasure).where(
            Erasure.requested_at < now - timedelta(days=settings.erasure_proof_days)))
