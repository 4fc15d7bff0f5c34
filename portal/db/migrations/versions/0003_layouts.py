"""The marketing workspace: layout versions, drafts, staff sessions, staff actions.

Revision ID: 0003_layouts
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_layouts"
down_revision = "0001"
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)  # portal.db.models.UtcDateTime stores through this
Email = sa.String(length=254)


def upgrade() -> None:
    op.create_table(
        "layout_versions",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("published_by", Email, nullable=False),
        sa.Column("published_at", Moment, nullable=False),
        sa.Column("restores", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layout_versions")),
    )
    op.create_table(
        "layout_drafts",
        sa.Column("owner", Email, nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_layout_drafts")),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("email", Email, nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("door", sa.String(length=20), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("last_seen_at", Moment, nullable=False),
        sa.Column("expires_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_staff_sessions")),
    )
    op.create_index(op.f("ix_staff_sessions_expires_at"), "staff_sessions", ["expires_at"])
    op.create_table(
        "staff_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", Moment, nullable=False),
        sa.Column("who", Email, nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_actions")),
    )
    op.create_index(op.f("ix_staff_actions_at"), "staff_actions", ["at"])


def downgrade() -> None:
    op.drop_table("staff_actions")
    op.drop_table("staff_sessions")
    op.drop_table("layout_drafts")
    op.drop_table("layout_versions")
