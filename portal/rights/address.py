"""The links an address change emailed, used (portal.rights.records.
email_requests sends them):

- the confirmation link, from the new address, writes it to the CRM (and
  its mirrors, through the writer), ends the contact's other sessions and
  signs this browser in with the new address, which it has just proved;
- "this was not me", from the old address, ends every session of the
  contact and cancels the change, or, when the change has landed already,
  puts the old address back;
- "this was not me" in a receipt ends every session and tells the
  organisation; the changes stay, for the contact to look at once signed in.

An address that another contact has by then is refused, and only the holder
of that address's link learns it is taken."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Row, select, update

from portal.auth.session import FULL, end_sessions_of, sign_in, sign_out
from portal.config import current
from portal.crm.base import Contact, CrmError, Profile
from portal.db import database
from portal.db.models import utcnow
from portal.delivery import delivery
from portal.delivery.reader import read_profile
from portal.delivery.writer import Outcome
from portal.i18n import current_language
from portal.mail import Draft
from portal.profile.changes import Submission, build_change
from portal.rights.models import EmailChange
from portal.rights.notify import organisation_address
from portal.rights.records import rights_records, submit_recorded
from portal.rights.records.email_requests import address_field
from portal.rights.records.history import (
    EMAIL_CHANGE_CANCELLED,
    EMAIL_CHANGED,
    EMAIL_RESTORED,
    NOT_ME,
    store_event,
)
from portal.rights.records.links import CONFIRM_EMAIL, NOT_ME_EMAIL, LinkState, RightsLinkCheck
from portal.rights.records.links import NOT_ME as NOT_ME_LINK


class Result(Enum):
    CHANGED = "changed"  # the new address is in the CRM (or on its way)
    TAKEN = "taken"  # another contact has it: nothing changed
    CANCELLED = "cancelled"  # the change will not happen
    RESTORED = "restored"  # the old address is back
    NOT_RESTORED = "not_restored"  # the old address is another contact's by now
    REPORTED = "reported"  # a receipt's change reported
    UNAVAILABLE = "unavailable"  # the CRM did not answer: try the same link again
    REFUSED = "refused"  # the CRM refused the address
    LINK = "link"  # the link does not work: see `state`


@dataclass(frozen=True)
class Used:
    result: Result
    state: LinkState = LinkState.VALID
    address: str = ""
    reason: str = ""
    door: str = ""  # through which the change was asked


def confirm_address(token: str) -> Used:
    links = rights_records().links
    checked = links.use(CONFIRM_EMAIL, token)
    if checked.state is not LinkState.VALID:
        return Used(Result.LINK, checked.state)
    request = _request_of(checked)
    if request is None or request.cancelled_at is not None or request.confirmed_at is not None:
        return Used(Result.LINK, LinkState.USED)  # replaced by a newer request, or cancelled
    new = checked.email
    read = _read(CONFIRM_EMAIL, token, checked.contact_ref, new)
    if read is None:
        return Used(Result.UNAVAILABLE)
    before, taken = read
    if taken:
        _close(request.id, confirmed=False)
        return Used(Result.TAKEN, address=new)
    used = _write_address(CONFIRM_EMAIL, token, before, new, request.door, request.language,
                          EMAIL_CHANGED)
    if used.result is Result.CHANGED:
        _close(request.id, confirmed=True)
        end_sessions_of(before.contact.ref)
        sign_in(replace(before.contact, email=new), FULL, via="link")  # the link proved it
    return replace(used, door=request.door)


def undo_address_change(token: str) -> Used:
    """"This was not me" from the old address."""
    links = rights_records().links
    checked = links.use(NOT_ME_EMAIL, token)
    request = _request_of(checked)
    if checked.state is not LinkState.VALID or request is None:
        return Used(Result.LINK, checked.state if checked.state is not LinkState.VALID
                    else LinkState.INVALID)
    _end_every_session(checked.contact_ref)
    if request.confirmed_at is None:  # not landed (or replaced by another request): stop them all
        _cancel_pending(checked.contact_ref)
        with database().transaction() as db:
            store_event(db, checked.contact_ref, f"email-{request.id}", EMAIL_CHANGE_CANCELLED,
                        "link", current_language(), utcnow())
        return Used(Result.CANCELLED)
    old = checked.email
    read = _read(NOT_ME_EMAIL, token, checked.contact_ref, old)
    if read is None:
        return Used(Result.UNAVAILABLE)
    before, taken = read
    if taken:
        return Used(Result.NOT_RESTORED, address=old)
    used = _write_address(NOT_ME_EMAIL, token, before, old, "link", current_language(),
                          EMAIL_RESTORED)
    if used.result is Result.CHANGED:
        _close(request.id, confirmed=False)
        _end_every_session(checked.contact_ref)  # any that came in meanwhile
        return Used(Result.RESTORED, address=old)
    return used


def report_not_me(token: str) -> Used:
    """"This was not me" in a receipt."""
    checked = rights_records().links.use(NOT_ME_LINK, token)
    if checked.state is not LinkState.VALID:
        return Used(Result.LINK, checked.state)
    _end_every_session(checked.contact_ref)
    with database().transaction() as db:
        store_event(db, checked.contact_ref, checked.change_id or "", NOT_ME, "link",
                    current_language(), utcnow())
    config = current()
    with force_locale(config.portal.default_language):
        draft = Draft(
            to=organisation_address(config),
            subject=_("A contact reports a change they did not make"),
            text=render_template("emails/not_me_report.txt", site=config.portal.name,
                                 ref=checked.contact_ref, change=checked.change_id or ""),
            language=config.portal.default_language)
    rights_records().outbox.post(draft, "not-me-report")
    return Used(Result.REPORTED)


# --- steps --------------------------------------------------------------------


def _request_of(checked: RightsLinkCheck) -> Row[Any] | None:
    """The address change a link belongs to (a row of email_changes)."""
    if checked.email_change_id is None:
        return None
    with database().transaction() as db:
        return db.execute(select(EmailChange.__table__).where(
            EmailChange.id == checked.email_change_id)).one_or_none()


def _read(purpose: str, token: str, contact_ref: str, address: str
          ) -> tuple[Profile, bool] | None:
    """The contact's profile (its contact as the CRM has it now), and whether
    another contact has `address`; None when the CRM did not answer, and then
    the link works again."""
    try:
        before = read_profile(Contact(ref=contact_ref, email=""))
        taken = any(c.ref != contact_ref for c in delivery().crm.find_contacts(address))
    except CrmError:
        rights_records().links.give_back(purpose, token, address)
        return None
    return before, taken


def _write_address(purpose: str, token: str, before: Profile, address: str, door: str,
                   language: str, event: str) -> Used:
    config = current()
    contact = before.contact
    spec = address_field(config, contact, before)
    if spec is None:  # marketing no longer shows the address: nothing to write it to
        return Used(Result.LINK, LinkState.INVALID)
    subscribed = {item.key for item in config.items() if item.item in before.subscribed}
    change = build_change(config, contact, before, Submission(
        fields={spec.key: address}, subscribed=subscribed, languages=None))
    result = submit_recorded(replace(contact, email=address), before, change, door=door,
                             language=language, event=event)
    if result.outcome is Outcome.REFUSED:
        return Used(Result.REFUSED, reason=getattr(result.error, "reason", "") or str(result.error))
    if result.outcome is Outcome.FAILED:  # neither applied nor kept: the link works again
        rights_records().links.give_back(purpose, token, address)
        return Used(Result.UNAVAILABLE)
    parts = delivery()
    parts.profiles.forget(parts.crm.name, contact.ref)  # the cached contact has the old address
    return Used(Result.CHANGED, address=address)


def _close(request_id: int, confirmed: bool) -> None:
    now = utcnow()
    values = {"confirmed_at": now} if confirmed else {"cancelled_at": now}
    with database().transaction() as db:
        db.execute(update(EmailChange).where(EmailChange.id == request_id).values(**values))


def _cancel_pending(contact_ref: str) -> None:
    with database().transaction() as db:
        db.execute(update(EmailChange).where(
            EmailChange.contact_ref == contact_ref, EmailChange.confirmed_at.is_(None),
            EmailChange.cancelled_at.is_(None)).values(cancelled_at=utcnow()))


def _end_every_session(contact_ref: str) -> None:
    end_sessions_of(contact_ref)
    sign_out()  # this browser's too, if it was theirs
