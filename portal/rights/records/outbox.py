"""Mail the portal owes someone (receipts, notices, erasure requests): kept in
the portal's database first, then sent after the answer, so that a mail
server that is down delays a message and loses none, and never slows or
fails the page that caused it.

Each message is sealed (AES-GCM, a key of its own derived from the secret
key): the table holds no address and no text. A message that cannot be sent
is tried again with growing waits, by whichever worker is serving requests,
and dropped after a week with an error in the log."""

from __future__ import annotations

import email
import email.policy
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import Connection, delete, insert, select, update

from portal.db.engine import Database, Every
from portal.db.keys import Keys, seal, unseal
from portal.db.models import utcnow
from portal.mail import Draft, Mailer, MailError
from portal.rights.models import OutboxMessage

log = logging.getLogger(__name__)

KEY_PURPOSE = "mail outbox"
DRAFT = "draft"  # a kept message's JSON: {"draft": {...}}
LEASE = timedelta(minutes=5)  # a worker sending a message holds it this long
FIRST_WAIT = timedelta(minutes=1)  # doubling after each failure...
LONGEST_WAIT = timedelta(hours=1)  # ...up to this
KEPT_FOR = timedelta(days=7)


@dataclass(frozen=True)
class Queued:
    id: int
    purpose: str
    attempts: int
    last_error: str


class Outbox:
    def __init__(self, database: Database, mailer: Mailer, secret_key: str) -> None:
        self.database = database
        self.mailer = mailer
        self.key = Keys(secret_key).derive(KEY_PURPOSE)
        self.background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-mail")
        self.retrying = Every(60)

    def post(self, draft: Draft, purpose: str, contact_ref: str | None = None) -> None:
        """Keep `draft`, then make it into a message and send it after the
        answer (the mail thread, one of many threads, takes a smaller share
        of a busy worker than pages do)."""
        with self.database.transaction() as db:
            send = self.keep(db, draft, purpose, contact_ref)
        send()

    def keep(self, db: Connection, draft: Draft, purpose: str,
             contact_ref: str | None = None) -> Callable[[], None]:
        """Keep `draft` in the transaction `db` (beside what it goes with);
        call what it returns once that transaction is committed, to send it."""
        now = utcnow()
        draft = replace(draft, message_id=draft.message_id or self.mailer.new_message_id())
        kept = json.dumps({DRAFT: asdict(draft)}).encode()
        message_id = db.execute(insert(OutboxMessage).returning(OutboxMessage.id), dict(
            contact_ref=contact_ref, purpose=purpose, created_at=now,
            next_try_at=now + LEASE, attempts=0, last_error="",  # held by this worker
            sealed_message=seal(self.key, kept))).scalar_one()

        def send() -> None:
            self.background.submit(self._send, message_id, lambda: self.mailer.made(draft),
                                   purpose, 0, now)
        return send

    def retry_when_due(self) -> None:
        """Ride on a request: at most once a minute, send what is waiting."""
        if self.retrying.due():
            self.background.submit(self.flush)

    def flush(self) -> int:
        """Send every message that is due; returns how many went out."""
        sent = 0
        with self.database.transaction() as db:
            due = db.execute(select(OutboxMessage.id).where(OutboxMessage.next_try_at <= utcnow())
                             .order_by(OutboxMessage.id)).scalars().all()
        for message_id in due:
            sent += self._send_one(message_id)
        return sent

    def waiting(self) -> list[Queued]:
        with self.database.transaction() as db:
            rows = db.execute(select(OutboxMessage.id, OutboxMessage.purpose, OutboxMessage.attempts,
                                     OutboxMessage.last_error).order_by(OutboxMessage.id)).all()
        return [Queued(*row) for row in rows]

    def forget_contact(self, contact_ref: str) -> None:
        """Drop what is waiting for a contact who asked to be forgotten."""
        with self.database.transaction() as db:
            db.execute(delete(OutboxMessage).where(OutboxMessage.contact_ref == contact_ref))

    def _send_one(self, message_id: int) -> int:
        """Send the kept message `message_id` unless another worker holds it or sent it."""
        now = utcnow()
        with self.database.transaction() as db:  # claim it: no other worker sends it meanwhile
            row = db.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.next_try_at <= now)
                .values(next_try_at=now + LEASE)
                .returning(OutboxMessage.sealed_message, OutboxMessage.attempts,
                           OutboxMessage.created_at, OutboxMessage.purpose)).one_or_none()
        if row is None:
            return 0
        sealed, attempts, created_at, purpose = row
        return self._send(message_id, lambda: self._opened(message_id, purpose, sealed), purpose,
                          attempts, created_at)

    def _send(self, message_id: int, message_of: Callable[[], EmailMessage | None], purpose: str,
              attempts: int, created_at: datetime) -> int:
        """Send a message this worker holds; the message is made (or read
        back) here, in the mail thread."""
        message = message_of()
        if message is None:
            return 0
        try:
            self.mailer.send(message)
        except MailError as exc:
            self._failed(message_id, purpose, attempts + 1, created_at, str(exc))
            return 0
        with self.database.transaction() as db:
            db.execute(delete(OutboxMessage).where(OutboxMessage.id == message_id))
        return 1

    def _opened(self, message_id: int, purpose: str, sealed: bytes) -> EmailMessage | None:
        raw = unseal(self.key, sealed)
        if raw is None:  # sealed under another secret key: no one can read it any more
            self._drop(message_id, purpose, "sealed under another secret key")
            return None
        if raw.startswith(b'{"%s"' % DRAFT.encode()):
            return self.mailer.made(Draft(**json.loads(raw)[DRAFT]))
        # Kept whole, as earlier versions kept every message.
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message

    def _failed(self, message_id: int, purpose: str, attempts: int, created_at: datetime,
                error: str) -> None:
        now = utcnow()
        if now - created_at > KEPT_FOR:
            self._drop(message_id, purpose, f"not sent for {KEPT_FOR.days} days: {error}")
            return
        wait = min(LONGEST_WAIT, FIRST_WAIT * 2 ** (attempts - 1))
        log.warning("A %s email could not be sent (attempt %d), next try in %s: %s",
                    purpose, attempts, wait, error)
        with self.database.transaction() as db:
            db.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
                attempts=attempts, last_error=error[:200], next_try_at=now + wait))

    def _drop(self, message_id: int, purpose: str, why: str) -> None:
        log.error("A %s email was dropped: %s", purpose, why)
        with self.database.transaction() as db:
            db.execute(delete(OutboxMessage).where(OutboxMessage.id == message_id))
