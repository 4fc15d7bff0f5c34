"""The tables of what every machine serving the portal must share: the
ledger of changes on their way to a CRM, the CRMs' OAuth tokens, and the
outbound request counters of each CRM's budget.

As in portal.db.models, nothing personal or secret is in the clear: a
ledger entry (the contact's email and what they changed) and a token are
sealed; the columns beside them say only what the queue must search by.
Times are epoch seconds, as the queue and the limiter count them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Double, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db.models import Base, UtcDateTime


class LedgerRow(Base):
    """One change on its way to one CRM, until it lands (or, failed, until an
    operator retries or drops it). A worker leases a row while it delivers it."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_contact", "crm", "contact_ref", "created"),
        Index("ix_ledger_entries_due", "status", "next_try"),
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # "CRM:change-id"
    crm: Mapped[str] = mapped_column(String(100))
    contact_ref: Mapped[str] = mapped_column(String(255))  # the main CRM's reference
    status: Mapped[str] = mapped_column(String(10))  # pending or failed
    created: Mapped[float] = mapped_column(Double)
    next_try: Mapped[float] = mapped_column(Double)
    lease_until: Mapped[float] = mapped_column(Double, default=0.0)
    sealed_entry: Mapped[bytes] = mapped_column(LargeBinary)


class OAuthToken(Base):
    """A CRM's current OAuth tokens (access and refresh), sealed."""

    __tablename__ = "oauth_tokens"

    crm: Mapped[str] = mapped_column(String(100), primary_key=True)
    sealed_token: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OutboundRequest(Base):
    """One request slot taken from a CRM's budget (a moving window)."""

    __tablename__ = "outbound_requests"
    __table_args__ = (Index("ix_outbound_requests_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255))
    at: Mapped[float] = mapped_column(Double)
