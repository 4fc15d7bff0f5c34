"""The ledger of changes on their way to a CRM, shared OAuth tokens and the
outbound request counters.

Revision ID: 0002_ledger_tokens
Revises: 0001
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_ledger_tokens"
down_revision = "0001"
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)  # portal.db.models.UtcDateTime stores through this


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("crm", sa.String(length=100), nullable=False),
        sa.Column("contact_ref", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created", sa.Double(), nullable=False),
        sa.Column("next_try", sa.Double(), nullable=False),
        sa.Column("lease_until", sa.Double(), nullable=False),
        sa.Column("sealed_entry", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index("ix_ledger_entries_contact", "ledger_entries",
                    ["crm", "contact_ref", "created"])
    op.create_index("ix_ledger_entries_due", "ledger_entries", ["status", "next_try"])

    op.create_table(
        "oauth_tokens",
        sa.Column("crm", sa.String(length=100), nullable=False),
        sa.Column("sealed_token", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("crm", name=op.f("pk_oauth_tokens")),
    )

    op.create_table(
        "outbound_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_requests")),
    )
    op.create_index("ix_outbound_requests_key_at", "outbound_requests", ["key", "at"])


def downgrade() -> None:
    op.drop_index("ix_outbound_requests_key_at", table_name="outbound_requests")
    op.drop_table("outbound_requests")
    op.drop_table("oauth_tokens")
    op.drop_index("ix_ledger_entries_due", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_contact", table_name="ledger_entries")
    op.drop_table("ledger_entries")
