"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = 0
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler hook
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        with self._arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, to: str, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """The messages sent to `to`, once at least `count` have arrived."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = [m for m in self.messages if to.lower() in str(m["To"]).lower()]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no email to {to} within {timeout}s")
                self._arrived.wait(left)

    def sent_to(self, to: str) -> list[EmailMessage]:
        return [m for m in self.messages if to.lower() in str(m["To"]).lower()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_smtp() -> tuple[Controller, Inbox]:
    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    return controller, inbox


def link_in(message: EmailMessage) -> str:
    """The sign-in link of a message's plain-text part."""
    body = message.get_body(("plain",))
    assert body is not None, "the email has no plain-text part"
    match = re.search(r"https?://\S+/link/\S+", body.get_content())
    assert match, "the email carries no sign-in link"
    return match.group(0)
