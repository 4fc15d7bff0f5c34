"""The contact's rights: consent records and their wording, change events,
email changes and their links, the mail outbox, erasures.

Revision ID: 0004_rights
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_rights"
down_revision = "0001"
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)  # portal.db.models.UtcDateTime stores through this
Hash = sa.String(length=64)
ContactRef = sa.String(length=255)
ChangeId = sa.String(length=32)
Door = sa.String(length=20)
Language = sa.String(length=8)


def upgrade() -> None:
    op.create_table(
        "consent_texts",
        sa.Column("hash", Hash, nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("first_shown_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_consent_texts")),
    )
    op.create_table(
        "consent_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_ref", ContactRef, nullable=False),
        sa.Column("change_id", ChangeId, nullable=False),
        sa.Column("item_key", sa.String(length=100), nullable=False),
        sa.Column("item", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("at", Moment, nullable=False),
        sa.Column("door", Door, nullable=False),
        sa.Column("language", Language, nullable=False),
        sa.Column("text_hash", Hash, nullable=False),
        sa.Column("legal_basis", sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(["text_hash"], ["consent_texts.hash"],
                                name=op.f("fk_consent_records_text_hash_consent_texts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_records")),
    )
    op.create_index(op.f("ix_consent_records_change_id"), "consent_records", ["change_id"])
    op.create_index(op.f("ix_consent_records_contact_ref"), "consent_records", ["contact_ref"])

    op.create_table(
        "change_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_ref", ContactRef, nullable=False),
        sa.Column("change_id", ChangeId, nullable=False),
        sa.Column("at", Moment, nullable=False),
        sa.Column("door", Door, nullable=False),
        sa.Column("language", Language, nullable=False),
        sa.Column("event", sa.String(length=30), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_events")),
    )
    op.create_index(op.f("ix_change_events_at"), "change_events", ["at"])
    op.create_index(op.f("ix_change_events_contact_ref"), "change_events", ["contact_ref"])

    op.create_table(
        "email_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_ref", ContactRef, nullable=False),
        sa.Column("requested_at", Moment, nullable=False),
        sa.Column("door", Door, nullable=False),
        sa.Column("language", Language, nullable=False),
        sa.Column("confirmed_at", Moment, nullable=True),
        sa.Column("cancelled_at", Moment, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_changes")),
    )
    op.create_index(op.f("ix_email_changes_contact_ref"), "email_changes", ["contact_ref"])

    op.create_table(
        "rights_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("token_hash", Hash, nullable=False),
        sa.Column("contact_ref", ContactRef, nullable=False),
        sa.Column("email_change_id", sa.Integer(), nullable=True),
        sa.Column("change_id", ChangeId, nullable=True),
        sa.Column("sealed_email", sa.LargeBinary(), nullable=True),
        sa.Column("issued_at", Moment, nullable=False),
        sa.Column("expires_at", Moment, nullable=False),
        sa.Column("used_at", Moment, nullable=True),
        sa.ForeignKeyConstraint(["email_change_id"], ["email_changes.id"],
                                name=op.f("fk_rights_links_email_change_id_email_changes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rights_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_rights_links_token_hash")),
    )
    op.create_index(op.f("ix_rights_links_contact_ref"), "rights_links", ["contact_ref"])
    op.create_index(op.f("ix_rights_links_expires_at"), "rights_links", ["expires_at"])

    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_ref", ContactRef, nullable=True),
        sa.Column("purpose", sa.String(length=30), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("next_try_at", Moment, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=False),
        sa.Column("sealed_message", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    op.create_index(op.f("ix_mail_outbox_contact_ref"), "mail_outbox", ["contact_ref"])
    op.create_index(op.f("ix_mail_outbox_next_try_at"), "mail_outbox", ["next_try_at"])

    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_ref", ContactRef, nullable=False),
        sa.Column("email_hash", Hash, nullable=False),
        sa.Column("requested_at", Moment, nullable=False),
        sa.Column("door", Door, nullable=False),
        sa.Column("language", Language, nullable=False),
        sa.Column("change_id", ChangeId, nullable=False),
        sa.Column("crm_outcome", sa.String(length=20), nullable=False),
        sa.Column("records_deleted_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasures")),
    )
    op.create_index(op.f("ix_erasures_contact_ref"), "erasures", ["contact_ref"])
    op.create_index(op.f("ix_erasures_email_hash"), "erasures", ["email_hash"])
    op.create_index(op.f("ix_erasures_requested_at"), "erasures", ["requested_at"])


def downgrade() -> None:
    for table in ("erasures", "mail_outbox", "rights_links", "email_changes", "change_events",
                  "consent_records", "consent_texts"):
        op.drop_table(table)
