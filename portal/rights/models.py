"""The tables of the contact's rights: consent records and the wording they
point to, the change events "My history" shows, verified email changes and
the links they send, the mail waiting to go out, and the proof of each
erasure.

As everywhere in the portal's database, no email address is kept in the
clear: a link's address is sealed with a key made from its token, a queued
message is sealed with a key of its own, and an erasure keeps a keyed hash of
the address. Field values are never kept: a change event names the fields
that changed, the CRM holds their values.

A change here needs a change of migrations/versions/0004_rights.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db.models import Base, Hash, UtcDateTime

ContactRef = String(255)
ChangeId = String(32)  # a Change's id (uuid4 hex)
Door = String(20)  # the session's `via`: link, newsletter, wordpress, one-click, ...
Language = String(8)


class ConsentText(Base):
    """The exact wording a contact saw next to a box, kept once per text."""

    __tablename__ = "consent_texts"

    hash: Mapped[str] = mapped_column(Hash, primary_key=True)  # SHA-256 of label and description
    label: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    first_shown_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ConsentRecord(Base):
    """One join or leave of one item: when, through which door, in which
    language, the wording shown and the legal basis marketing set."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_ref: Mapped[str] = mapped_column(ContactRef, index=True)
    change_id: Mapped[str] = mapped_column(ChangeId, index=True)
    item_key: Mapped[str] = mapped_column(String(100))
    item: Mapped[str] = mapped_column(String(255))  # kind:ref[:value], as the CRM names it
    action: Mapped[str] = mapped_column(String(10))  # joined | left
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    door: Mapped[str] = mapped_column(Door)
    language: Mapped[str] = mapped_column(Language)
    text_hash: Mapped[str] = mapped_column(Hash, ForeignKey("consent_texts.hash"))
    legal_basis: Mapped[str] = mapped_column(String(30))


class ChangeEvent(Base):
    """One line of the contact's history: a save, an address change, a report."""

    __tablename__ = "change_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_ref: Mapped[str] = mapped_column(ContactRef, index=True)
    change_id: Mapped[str] = mapped_column(ChangeId)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    door: Mapped[str] = mapped_column(Door)
    language: Mapped[str] = mapped_column(Language)
    event: Mapped[str] = mapped_column(String(30))  # see portal.rights.records.EVENTS
    fields: Mapped[str] = mapped_column(Text, default="")  # keys of the fields that changed, JSON


class EmailChange(Base):
    """A request to change the contact's address, until confirmed or cancelled."""

    __tablename__ = "email_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_ref: Mapped[str] = mapped_column(ContactRef, index=True)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    door: Mapped[str] = mapped_column(Door)
    language: Mapped[str] = mapped_column(Language)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RightsLink(Base):
    """A link the portal emailed for a right: confirm a new address, say "this
    was not me". Opaque like a sign-in link: the database keeps its hash, and
    an address it needs sealed with a key made from the token."""

    __tablename__ = "rights_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(Hash, unique=True)
    contact_ref: Mapped[str] = mapped_column(ContactRef, index=True)
    email_change_id: Mapped[int | None] = mapped_column(ForeignKey("email_changes.id"))
    change_id: Mapped[str | None] = mapped_column(ChangeId)
    sealed_email: Mapped[bytes | None] = mapped_column(LargeBinary)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OutboxMessage(Base):
    """An email the portal owes someone and has not sent yet (the mail server
    was down): sealed, retried, dropped after a week."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_ref: Mapped[str | None] = mapped_column(ContactRef, index=True)
    purpose: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    next_try_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(200), default="")
    sealed_message: Mapped[bytes] = mapped_column(LargeBinary)


class Erasure(Base):
    """What is left of a contact who asked to be forgotten: the proof that
    the request was received and honoured, and nothing that names them."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_ref: Mapped[str] = mapped_column(ContactRef, index=True)
    email_hash: Mapped[str] = mapped_column(Hash, index=True)  # keyed: it matches, it does not say
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    door: Mapped[str] = mapped_column(Door)
    language: Mapped[str] = mapped_column(Language)
    change_id: Mapped[str] = mapped_column(ChangeId)
    crm_outcome: Mapped[str] = mapped_column(String(20))  # applied | queued | refused | failed
    records_deleted_at: Mapped[datetime] = mapped_column(UtcDateTime)
