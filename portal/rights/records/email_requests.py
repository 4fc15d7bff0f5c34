"""Asking to change the contact's address: nothing is written to the CRM.

The field of type email that holds the address the contact signed in with
is their address. When they type another one, the portal sends a link to
the new address (the rules of sign-in links) and a notice to the old one
with a "this was not me" link; only the link from the new address writes
the CRM (portal.rights.address).

The answer is the same whether or not the new address is already another
contact's: the CRM is asked after the answer, and an address that is taken
gets an email saying so instead of a link, so only its owner learns it. A
contact may ask as often an hour as they may ask for sign-in links."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from flask import flash, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, insert, select, update

from portal.config import Config, FieldSpec, current
from portal.crm.base import Contact, CrmAdapter, CrmError, Profile
from portal.db import database
from portal.db.models import utcnow
from portal.delivery import delivery
from portal.hosting.urls import external_url
from portal.mail import Draft
from portal.rights.models import EmailChange
from portal.rights.records.history import EMAIL_CHANGE_ASKED, store_event
from portal.rights.records.links import CONFIRM_EMAIL, NOT_ME_EMAIL
from portal.rights.records.outbox import Outbox
from portal.rights.records.parts import rights_records

log = logging.getLogger(__name__)
ASKED_WITHIN = timedelta(hours=1)


def same_address(a: object, b: object) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a.strip().lower() == b.strip().lower()


def address_field(config: Config, contact: Contact, profile: Profile) -> FieldSpec | None:
    """The editable field that holds the contact's own address, if marketing
    exposes one: of type email, holding the address they came in with, else
    the CRM's own email field (a contact may hold several addresses)."""
    shown = [spec for spec in config.fields if spec.type == "email" and spec.editable]
    return next((spec for spec in shown
                 if same_address(profile.values.get(spec.crm_field), contact.email)), None) or \
        next((spec for spec in shown if spec.crm_field.lower() == "email"), None)


def split_address_change(config: Config, contact: Contact, profile: Profile,
                         fields: Mapping[str, object]) -> tuple[dict[str, object], str | None]:
    """The submitted fields without the contact's address, and the new address
    when they typed one: it changes only through its confirmation link."""
    spec = address_field(config, contact, profile)
    rest = dict(fields)
    if spec is None or spec.key not in rest:
        return rest, None
    typed = str(rest.pop(spec.key) or "").strip()
    stored = profile.values.get(spec.crm_field)
    return rest, (typed if typed and not same_address(typed, stored) else None)


@dataclass(frozen=True)
class Letters:
    """What to send once the CRM said whether the new address is taken."""

    confirm: Draft
    taken: Draft


def ask_email_change(contact: Contact, new_address: str, *, door: str, language: str) -> bool:
    """Send the confirmation link and the notice, and say so on the next page;
    False when the contact asked too often lately."""
    config = current()
    records = rights_records()
    now = utcnow()
    with database().exclusive(f"email-change:{contact.ref}") as db:  # count, then write
        asked = db.execute(select(func.count()).select_from(EmailChange).where(
            EmailChange.contact_ref == contact.ref,
            EmailChange.requested_at > now - ASKED_WITHIN)).scalar_one()
        if asked >= config.portal.link_requests_per_email_per_hour:
            flash(_("You have asked to change your email address many times in a short time. "
                    "Please wait a while and try again."), "info")
            return False
        # A newer request replaces the ones not yet confirmed, as a newer sign-in link does.
        db.execute(update(EmailChange).where(
            EmailChange.contact_ref == contact.ref, EmailChange.confirmed_at.is_(None),
            EmailChange.cancelled_at.is_(None)).values(cancelled_at=now))
        request_id = db.execute(insert(EmailChange).values(
            contact_ref=contact.ref, requested_at=now, door=door, language=language)
            .returning(EmailChange.id)).scalar_one()
        store_event(db, contact.ref, f"email-{request_id}", EMAIL_CHANGE_ASKED, door, language, now)
    confirm = records.links.issue(
        CONFIRM_EMAIL, contact.ref, timedelta(minutes=config.portal.link_lifetime_minutes),
        email=new_address, email_change_id=request_id)
    not_me = records.links.issue(
        NOT_ME_EMAIL, contact.ref, timedelta(days=config.rights.not_me_days),
        email=contact.email, email_change_id=request_id)
    confirm_link = external_url("rights.link_page", kind="confirm", token=confirm)
    undo_link = external_url("rights.link_page", kind="undo", token=not_me)
    letters = _letters(config, new_address, confirm_link, language)
    # The address the contact came in with, which they proved, hears of it and can undo it.
    records.outbox.post(_notice(config, contact.email, new_address, undo_link, language),
                        "email-notice", contact.ref)
    records.background.submit(send_confirmation, delivery().crm, records.outbox, contact.ref,
                              new_address, letters)
    flash(_("We have sent a link to %(address)s: your email address changes when you open it. "
            "We have told your current address too.", address=new_address), "success")
    if door == "wordpress":
        say_wordpress_keeps_its_address()
    return True


def say_wordpress_keeps_its_address() -> None:
    flash(_("Your account on our website keeps its own email address: changing it here does "
            "not change it there."), "info")


def send_confirmation(crm: CrmAdapter, outbox: Outbox, contact_ref: str, new_address: str,
                      letters: Letters) -> None:
    """After the answer: the link, or, when another contact has the address, a
    word to that address that it is taken. A CRM that cannot answer now gets
    the link: the address is checked again when the link is used."""
    try:
        taken = any(c.ref != contact_ref for c in crm.find_contacts(new_address))
    except CrmError as exc:
        log.warning("Could not check a new address in the CRM; it is checked at confirmation: %s",
                    exc)
        taken = False
    outbox.post(letters.taken if taken else letters.confirm, "email-confirm", contact_ref)


def _letters(config: Config, new_address: str, link: str, language: str) -> Letters:
    site, minutes = config.portal.name, config.portal.link_lifetime_minutes
    values = {"site": site, "link": link, "minutes": minutes, "language": language}
    with force_locale(language):
        confirm = Draft(
            to=new_address, subject=_("Confirm your new email address at %(site)s", site=site),
            text=render_template("emails/confirm_email.txt", **values),
            html=render_template("emails/confirm_email.html", **values), language=language)
        taken = Draft(
            to=new_address, subject=_("Your email address at %(site)s", site=site),
            text=render_template("emails/address_taken.txt", **values),
            html=render_template("emails/address_taken.html", **values), language=language)
    return Letters(confirm, taken)


def _notice(config: Config, old_address: str, new_address: str, link: str,
            language: str) -> Draft:
    site = config.portal.name
    values = {"site": site, "new": new_address, "link": link, "days": config.rights.not_me_days,
              "language": language}
    with force_locale(language):
        return Draft(
            to=old_address, subject=_("A change of your email address at %(site)s", site=site),
            text=render_template("emails/email_notice.txt", **values),
            html=render_template("emails/email_notice.html", **values), language=language)
