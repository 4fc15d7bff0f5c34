"""`portal consent export`: the proof of when and to what a contact agreed.

    portal consent export --contact ane@example.org > ane-consent.json
    portal consent export --ref 0031x00000AbCdE      # when the CRM cannot be asked

Prints, as JSON, every consent record the portal keeps for the contacts
with that address in the CRM (or with that reference): the moment, the item,
joined or left, the door, the language, the exact wording shown with its
SHA-256 and the legal basis; and any erasure the contact asked for."""

from __future__ import annotations

import json
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import ColumnElement, or_, select

from portal.auth.links import email_fingerprint
from portal.crm.base import CrmError
from portal.db import database
from portal.db.keys import Keys
from portal.delivery import delivery
from portal.rights.models import Erasure
from portal.rights.records.consent import RecordedConsent, consents_of

consent = AppGroup("consent", help="Consent records: the proof of what contacts agreed to.")


@consent.command("export")
@click.option("--contact", "email", help="The contact's email address (looked up in the CRM).")
@click.option("--ref", "refs", multiple=True, help="A contact reference in the CRM (repeatable).")
def export(email: str | None, refs: tuple[str, ...]) -> None:
    """Print a contact's consent records and erasures as JSON."""
    if not email and not refs:
        raise click.UsageError("Name the contact: --contact EMAIL or --ref REF.")
    found = list(refs)
    if email:
        try:
            found += [c.ref for c in delivery().crm.find_contacts(email)]
        except CrmError as exc:
            raise click.ClickException(f"The CRM did not answer ({exc}); if you know the "
                                       "contact's reference, use --ref.") from exc
    erasures: ColumnElement[bool] = Erasure.contact_ref.in_(found)
    if email:  # an erased contact is no longer in the CRM: the proof keeps a keyed hash
        erasures = or_(erasures, Erasure.email_hash == email_fingerprint(
            Keys(current_app.config["SECRET_KEY"]), email))
    with database().transaction() as db:
        records = consents_of(db, found)
        erased = list(db.execute(select(Erasure.__table__).where(erasures)
                                 .order_by(Erasure.requested_at)))
    click.echo(json.dumps(_document(email, found, records, erased), ensure_ascii=False, indent=2))


def _document(email: str | None, refs: list[str], records: list[RecordedConsent],
              erased: list[Any]) -> dict[str, Any]:
    return {
        "contact": email, "crm_refs": refs,
        "consent_records": [{
            "at": r.at.isoformat(), "contact_ref": r.contact_ref, "item": r.item_key,
            "crm_item": r.item, "action": r.action,
            "door": r.door, "language": r.language, "legal_basis": r.legal_basis,
            "wording": {"label": r.wording.label, "description": r.wording.description,
                        "sha256": r.wording_hash},
            "change": r.change_id} for r in records],
        "erasures": [{"requested_at": e.requested_at.isoformat(), "contact_ref": e.contact_ref,
                      "door": e.door, "crm": e.crm_outcome, "change": e.change_id,
                      "portal_records_deleted_at": e.records_deleted_at.isoformat()}
                     for e in erased],
    }
