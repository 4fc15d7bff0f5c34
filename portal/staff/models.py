"""The workspace's tables: published layout versions, each staff member's
draft, staff sessions and the record of every staff action.

Staff are named by the address the configuration's staff list (or their
WordPress account) gives: they are the organisation's own people, named
in the history on purpose. Contacts appear in none of these tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db.models import Base, Hash, UtcDateTime

Email = String(254)


class LayoutVersion(Base):
    """One published layout; the highest id is the one contacts see."""

    __tablename__ = "layout_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[str] = mapped_column(Text)  # the layout's tables, as JSON
    note: Mapped[str] = mapped_column(Text)
    published_by: Mapped[str] = mapped_column(Email)  # "" for the file's first seed
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)
    restores: Mapped[int | None] = mapped_column(Integer)  # the version a rollback published again


class LayoutDraft(Base):
    """A staff member's draft, saved at every edit, and the version it started from."""

    __tablename__ = "layout_drafts"

    owner: Mapped[str] = mapped_column(Email, primary_key=True)
    base_version: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class StaffSession(Base):
    """A staff sign-in: its cookie (not the contacts' one) holds a random id, kept here hashed."""

    __tablename__ = "staff_sessions"

    id_hash: Mapped[str] = mapped_column(Hash, primary_key=True)
    email: Mapped[str] = mapped_column(Email)
    role: Mapped[str] = mapped_column(String(20))
    door: Mapped[str] = mapped_column(String(20))  # link or wordpress
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class StaffAction(Base):
    """Who did what, when, in the workspace."""

    __tablename__ = "staff_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    who: Mapped[str] = mapped_column(Email)
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
