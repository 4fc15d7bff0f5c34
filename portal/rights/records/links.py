"""The links the portal emails for a right: "confirm your new address" and
"this was not me". They follow the rules of sign-in links: the token is
random and says nothing, the database keeps its hash, an address the link
needs is sealed with a key made from the token (only the link's holder can
have it read), a link works once and until it expires, and opening one
(GET) changes nothing: a button does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from sqlalchemy import Connection, delete, insert, select, update

from portal.db.engine import Database
from portal.db.keys import Keys, new_token, seal, token_hash, unseal
from portal.db.models import utcnow
from portal.rights.models import RightsLink

EMAIL_KEY = "rights link email"
CONFIRM_EMAIL = "confirm-email"  # sent to the new address
NOT_ME_EMAIL = "not-me-email"  # sent to the old address with the notice
NOT_ME = "not-me"  # in every receipt


class LinkState(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    USED = "used"
    INVALID = "invalid"


@dataclass(frozen=True)
class RightsLinkCheck:
    state: LinkState
    contact_ref: str = ""
    email_change_id: int | None = None
    change_id: str | None = None
    email: str = ""  # the sealed address, once the link is used


class RightsLinks:
    def __init__(self, secret_key: str, database: Database) -> None:
        self.keys = Keys(secret_key)
        self.database = database

    def issue(self, purpose: str, contact_ref: str, lifetime: timedelta, *, email: str = "",
              email_change_id: int | None = None, change_id: str | None = None) -> str:
        token = new_token()
        with self.database.transaction() as db:
            self.keep(db, token, purpose, contact_ref, lifetime, email=email,
                      email_change_id=email_change_id, change_id=change_id)
        return token

    def keep(self, db: Connection, token: str, purpose: str, contact_ref: str,
             lifetime: timedelta, *, email: str = "", email_change_id: int | None = None,
             change_id: str | None = None) -> None:
        """Keep the link of `token` (a `new_token()`) in the transaction `db`:
        for a link written into a message before the message is kept."""
        now = utcnow()
        sealed = seal(self.keys.derive(EMAIL_KEY, token), email.encode()) if email else None
        db.execute(insert(RightsLink), dict(
            purpose=purpose, token_hash=token_hash(token), contact_ref=contact_ref,
            email_change_id=email_change_id, change_id=change_id, sealed_email=sealed,
            issued_at=now, expires_at=now + lifetime))

    def check(self, purpose: str, token: str) -> RightsLinkCheck:
        """What the link is, without spending it (the page with the button)."""
        with self.database.transaction() as db:
            row = db.execute(select(RightsLink.__table__).where(
                RightsLink.token_hash == token_hash(token), RightsLink.purpose == purpose)
            ).one_or_none()
        if row is None:
            return RightsLinkCheck(LinkState.INVALID)
        if row.expires_at <= utcnow():
            return RightsLinkCheck(LinkState.EXPIRED)
        state = LinkState.USED if row.used_at is not None else LinkState.VALID
        return RightsLinkCheck(state, row.contact_ref, row.email_change_id, row.change_id)

    def use(self, purpose: str, token: str) -> RightsLinkCheck:
        """Spend the link: only one caller wins; the winner gets its address."""
        now = utcnow()
        with self.database.transaction() as db:
            row = db.execute(
                update(RightsLink)
                .where(RightsLink.token_hash == token_hash(token), RightsLink.purpose == purpose,
                       RightsLink.used_at.is_(None), RightsLink.expires_at > now)
                .values(used_at=now)
                .returning(RightsLink.contact_ref, RightsLink.email_change_id,
                           RightsLink.change_id, RightsLink.sealed_email)).one_or_none()
            if row is not None:  # its address will not be read again
                db.execute(update(RightsLink).where(RightsLink.token_hash == token_hash(token))
                           .values(sealed_email=None))
        if row is None:
            return self.check(purpose, token)
        contact_ref, email_change_id, change_id, sealed = row
        email = unseal(self.keys.derive(EMAIL_KEY, token), sealed) if sealed else b""
        if email is None:  # sealed under another secret key
            return RightsLinkCheck(LinkState.INVALID)
        return RightsLinkCheck(LinkState.VALID, contact_ref, email_change_id, change_id,
                               email.decode())

    def give_back(self, purpose: str, token: str, email: str) -> None:
        """Make a spent link usable again (what it was for could not be done
        yet: the CRM did not answer), with its address sealed again."""
        sealed = seal(self.keys.derive(EMAIL_KEY, token), email.encode()) if email else None
        with self.database.transaction() as db:
            db.execute(update(RightsLink).where(RightsLink.token_hash == token_hash(token),
                                                RightsLink.purpose == purpose)
                       .values(used_at=None, sealed_email=sealed))

    def forget_contact(self, contact_ref: str) -> None:
        with self.database.transaction() as db:
            db.execute(delete(RightsLink).where(RightsLink.contact_ref == contact_ref))

    def purge(self, kept_after_expiry: timedelta) -> None:
        with self.database.transaction() as db:
            db.execute(delete(RightsLink).where(RightsLink.expires_at <= utcnow() - kept_after_expiry))
