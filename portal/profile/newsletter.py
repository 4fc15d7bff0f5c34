"""A contact's newsletter token in the CRM: read it, or write a new one.

The profile page writes one on a contact's first visit and `flask tokens
issue` writes them ahead of a campaign; both go through here and the writer.
"""

from __future__ import annotations

from portal.crm.base import Change, Contact, FieldRef, FieldUpdate
from portal.services import portal
from portal.writer import WriteResult


def token_field() -> FieldRef | None:
    field = portal().config.portal.newsletter_token_field
    return FieldRef(field, "text") if field else None


def stored_token(contact: Contact) -> tuple[Contact, str | None]:
    """The contact as the CRM has them, and the token in their CRM field."""
    field = token_field()
    if field is None:
        return contact, None
    profile = portal().crm.fetch_profile(contact, [field], [])
    value = profile.values.get(field.crm_field)
    return profile.contact, value if isinstance(value, str) and value else None


def issue_token(contact: Contact) -> tuple[str, WriteResult]:
    """Make a new token for `contact` and write it into the CRM (or the queue)."""
    services = portal()
    field = token_field()
    assert field is not None, "issue_token needs [portal] newsletter_token_field"
    token = services.newsletter.make(contact.ref)
    change = Change(contact_ref=contact.ref, email=contact.email, name=contact.name,
                    fields=(FieldUpdate(field, token),))
    return token, services.writer.submit(change)
