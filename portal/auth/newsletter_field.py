"""A contact's newsletter token in the CRM: read it, or write a new one.

The profile page writes one on a contact's first visit and `portal tokens
issue` writes them ahead of a campaign; both go through here and the writer.
The newsletter link's check reads it back here too.
"""

from __future__ import annotations

from flask import session

from portal.auth.doors import newsletter_tokens
from portal.config import current
from portal.crm.base import Change, Contact, FieldRef, FieldUpdate, Profile
from portal.db.keys import token_hash
from portal.delivery import delivery
from portal.delivery.reader import field_refs, item_refs
from portal.delivery.writer import WriteResult

SESSION_KEY = "newsletter_token"


def token_field() -> FieldRef | None:
    field = current().portal.newsletter_token_field
    return FieldRef(field, "text") if field else None


def stored_token(contact: Contact) -> tuple[Contact, str | None]:
    """The contact as the CRM has them, and the token in their CRM field."""
    field = token_field()
    if field is None:
        return contact, None
    profile = delivery().crm.read_profile(contact, [field], [])
    value = profile.values.get(field.crm_field)
    return profile.contact, value if isinstance(value, str) and value else None


def issue_token(contact: Contact, *, now: bool = True) -> tuple[str, WriteResult]:
    """Make a new token for `contact` and write it into the CRM (or the queue;
    `now=False`: the queue, whatever the budget)."""
    field = token_field()
    assert field is not None, "issue_token needs [portal] newsletter_token_field"
    token = newsletter_tokens().make(contact.ref)
    change = Change(contact_ref=contact.ref, email=contact.email, name=contact.name,
                    fields=(FieldUpdate(field, token),))
    return token, delivery().writer.submit(change, now=now)


def remember_token(token: str) -> None:
    """Keep in the session (a hash of) the token a newsletter session came in with."""
    session[SESSION_KEY] = token_hash(token)


def token_still_held(profile: Profile) -> bool:
    """Whether a newsletter session's token is still the one in the CRM (as read,
    so at most `profile_cache_seconds` old): clearing the field ends the session."""
    kept = session.get(SESSION_KEY)
    if kept is None:  # not a newsletter session
        return True
    field = token_field()
    value = profile.values.get(field.crm_field) if field else None
    return isinstance(value, str) and bool(value) and token_hash(value) == kept


def newsletter_contact(token: str) -> Contact | None:
    """The contact a newsletter link belongs to, if the CRM still holds that token.
    The check reads the whole profile from the CRM now, and keeps it for the
    profile page the link opens next: one read for both."""
    claim = newsletter_tokens().read(token)
    field = token_field()
    if claim is None or field is None:
        return None
    parts, config = delivery(), current()
    profile = parts.profiles.read(parts.crm, Contact(ref=claim.contact_ref, email=""),
                                  field_refs(config), item_refs(config), fresh=True)
    stored = profile.values.get(field.crm_field)
    return profile.contact if stored == token else None
