"""The portal's tables. Nothing here holds an email address, a token or a
client address in the clear: only keyed hashes and sealed (encrypted) values.

A change here needs a migration in portal/db/migrations/versions/; a test
checks that the migrations build exactly these tables."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import DateTime, Dialect, Index, LargeBinary, MetaData, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so that migrations can name what they change.
NAMING = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
          "ck": "ck_%(table_name)s_%(constraint_name)s",
          "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
          "pk": "pk_%(table_name)s"}


def utcnow() -> datetime:
    """Now, from time.time() so that tests can move the clock."""
    return datetime.fromtimestamp(time.time(), UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in UTC: `timestamptz` on PostgreSQL; on SQLite, naive UTC text
    in one format, so that comparing the text compares the moments."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


Hash = String(64)  # a SHA-256 or HMAC-SHA256 in hex


class SignInLink(Base):
    """An emailed sign-in link. The newest link of an address (highest id) is
    the only one that works; the email is sealed with a key made from the
    token, which only the link's holder has."""

    __tablename__ = "sign_in_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(Hash, unique=True)
    email_hash: Mapped[str] = mapped_column(Hash, index=True)
    sealed_email: Mapped[bytes | None] = mapped_column(LargeBinary)  # emptied once not needed
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SessionRecord(Base):
    """A browser's session: its cookie holds a random id, kept here hashed."""

    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(Hash, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)  # for purging
    door: Mapped[str | None] = mapped_column(String(20))  # link, newsletter or wordpress
    contact_ref: Mapped[str | None] = mapped_column(String(255), index=True)
    scope: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(8))
    sealed_data: Mapped[bytes | None] = mapped_column(LargeBinary)  # the dict Flask keeps


class SignInRequest(Base):
    """One counted request for a sign-in link, per counter (email or client
    address) and keyed hash, for the moving one-hour window."""

    __tablename__ = "sign_in_requests"
    __table_args__ = (Index("ix_sign_in_requests_counter_key_at", "counter", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    counter: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(Hash)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
