"""Sign-in links, sessions and sign-in request counters.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)  # portal.db.models.UtcDateTime stores through this
Hash = sa.String(length=64)


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id_hash", Hash, nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("last_seen_at", Moment, nullable=False),
        sa.Column("expires_at", Moment, nullable=False),
        sa.Column("door", sa.String(length=20), nullable=True),
        sa.Column("contact_ref", sa.String(length=255), nullable=True),
        sa.Column("scope", sa.String(length=20), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("sealed_data", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_contact_ref"), "sessions", ["contact_ref"])
    op.create_index(op.f("ix_sessions_expires_at"), "sessions", ["expires_at"])

    op.create_table(
        "sign_in_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", Hash, nullable=False),
        sa.Column("email_hash", Hash, nullable=False),
        sa.Column("sealed_email", sa.LargeBinary(), nullable=True),
        sa.Column("issued_at", Moment, nullable=False),
        sa.Column("expires_at", Moment, nullable=False),
        sa.Column("used_at", Moment, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sign_in_links_token_hash")),
    )
    op.create_index(op.f("ix_sign_in_links_email_hash"), "sign_in_links", ["email_hash"])
    op.create_index(op.f("ix_sign_in_links_expires_at"), "sign_in_links", ["expires_at"])

    op.create_table(
        "sign_in_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("counter", sa.String(length=20), nullable=False),
        sa.Column("key", Hash, nullable=False),
        sa.Column("at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_requests")),
    )
    op.create_index(op.f("ix_sign_in_requests_at"), "sign_in_requests", ["at"])
    op.create_index("ix_sign_in_requests_counter_key_at", "sign_in_requests",
                    ["counter", "key", "at"])


def downgrade() -> None:
    op.drop_table("sign_in_requests")
    op.drop_table("sign_in_links")
    op.drop_table("sessions")
