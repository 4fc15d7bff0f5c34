"""Sending email: to the console, to .eml files, or through an SMTP server.

Sign-in links must arrive now, so the portal sends them itself instead of
asking the CRM (whose queues can take minutes)."""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import sys
import uuid
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


class Mailer:
    def __init__(self, settings: MailSettings, instance: Path) -> None:
        self.settings = settings
        self.folder = instance / settings.file_dir

    def message(self, to: str, subject: str, text: str, html: str | None = None,
                language: str = "es") -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.settings.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg["Message-ID"] = make_msgid(domain=self.settings.sender.rsplit("@", 1)[-1].strip(">"))
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(text)
        if html:
            msg.add_alternative(html, subtype="html")
        # After the body: setting the content drops Content-* headers set before.
        msg["Content-Language"] = language
        return msg

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
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        (self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml").write_bytes(msg.as_bytes())

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
    app.extensions[EXTENSION] = Mailer(app.config["PORTAL"].mail, Path(app.instance_path))


def mailer() -> Mailer:
    """The current app's mailer."""
    found: Mailer = current_app.extensions[EXTENSION]
    return found
