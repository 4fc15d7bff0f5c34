"""Sending email: to the console, to .eml files, or through an SMTP server.

Sign-in links must arrive now, so the portal sends them itself instead of
asking the CRM (whose queues can take minutes)."""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from flask import Flask, current_app

from portal.config import MailSettings

log = logging.getLogger(__name__)
EXTENSION = "portal.mail"


class MailError(Exception):
    pass


@dataclass(frozen=True)
class Draft:
    """What a message says. Made into MIME only when it is sent: Python's
    email package takes longer to make a message than a page takes to
    render, and a kept message need not cost its page that."""

    to: str
    subject: str
    text: str
    html: str | None = None
    language: str = "es"
    message_id: str = ""  # given when the message is kept, so every try sends the same


class Mailer:
    def __init__(self, settings: MailSettings, instance: Path, keep_seconds: float) -> None:
        """`keep_seconds`: how long the file backend keeps a message, as long as
        the links in it work (the demo's .eml files must not outlive them)."""
        self.settings = settings
        self.folder = instance / settings.file_dir
        self.keep_seconds = keep_seconds
        self._written: deque[Path] = deque()  # this process's files, oldest first
        self._lock = threading.Lock()

    def message(self, to: str, subject: str, text: str, html: str | None = None,
                language: str = "es", message_id: str = "") -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.settings.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg["Message-ID"] = message_id or self.new_message_id()
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(text)
        if html:
            msg.add_alternative(html, subtype="html")
        # After the body: setting the content drops Content-* headers set before.
        msg["Content-Language"] = language
        return msg

    def made(self, draft: Draft) -> EmailMessage:
        return self.message(draft.to, draft.subject, draft.text, draft.html, draft.language,
                            draft.message_id)

    def new_message_id(self) -> str:
        return make_msgid(domain=self.settings.sender.rsplit("@", 1)[-1].strip(">"))

    def send(self, msg: EmailMessage) -> None:
        for backend in self.settings.backends:
            getattr(self, f"_send_{backend}")(msg)

    def _send_console(self, msg: EmailMessage) -> None:
        body = msg.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        print(f"\n--- email to {msg['To']}: {msg['Subject']}\n{text}--- end of email\n",
              file=sys.stdout, flush=True)

    def _send_file(self, msg: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._forget_written()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(msg.as_bytes())
        with self._lock:
            self._written.append(path)

    def forget_expired(self) -> None:
        """Delete the .eml files whose links no longer work."""
        oldest = time.time() - self.keep_seconds
        for old in self.folder.glob("*.eml"):
            if old.stat().st_mtime < oldest:
                old.unlink(missing_ok=True)

    def _forget_written(self) -> None:
        """Delete this process's expired files, oldest first: written in
        order, they expire in order, and a busy portal need not look at
        every file on every message (others were swept at start)."""
        oldest = time.time() - self.keep_seconds
        with self._lock:
            while self._written:
                try:
                    if self._written[0].stat().st_mtime >= oldest:
                        break
                    self._written[0].unlink()
                except FileNotFoundError:
                    pass
                self._written.popleft()

    def _send_smtp(self, msg: EmailMessage) -> None:
        s = self.settings
        user = os.environ.get("PORTAL_SMTP_USER", "")
        password = os.environ.get("PORTAL_SMTP_PASSWORD", "")
        try:
            if s.smtp_security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=s.smtp_timeout,
                    context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
            with client:
                if s.smtp_security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if user:
                    client.login(user, password)
                client.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            # Never include the credentials: only where we tried to send.
            raise MailError(f"Could not send mail through {s.smtp_host}:{s.smtp_port}: "
                            f"{type(exc).__name__}") from exc


def init_app(app: Flask) -> None:
    config = app.config["PORTAL"]
    mailer = Mailer(config.mail, Path(app.instance_path), config.portal.link_lifetime_minutes * 60)
    if "file" in config.mail.backends and mailer.folder.is_dir():
        mailer.forget_expired()
    app.extensions[EXTENSION] = mailer


def mailer() -> Mailer:
    """The current app's mailer."""
    found: Mailer = current_app.extensions[EXTENSION]
    return found
