"""Tokens never reach a log: the paths of sign-in and newsletter links
(`/link/<token>`, `/n/<token>`), of one-click unsubscribes (`/u/<token>`,
`/u/<token>/<item>`) and of the links the contact's rights send
(`/rights/confirm/<token>`, `/rights/undo/<token>`, `/rights/not-me/<token>`)
are cut down to their first characters in every log line of the web servers
the README runs (Werkzeug's, and gunicorn's access and error logs). The
portal's own log lines carry no request paths."""

from __future__ import annotations

import logging
import re
from typing import Any

TOKEN_PATH = re.compile(r"(/(?:link|n|u|confirm|undo|not-me)/)([A-Za-z0-9._~%-]{4})[A-Za-z0-9._~%-]*")
LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")


def redact(text: str) -> str:
    return TOKEN_PATH.sub(r"\1\2…", text)


def _redacted(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactTokens(logging.Filter):
    """Rewrites a record's message and arguments before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _redacted(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_redacted(value) for value in record.args)
        return True


def init_app() -> None:
    """Install the filter once per process on every logger that sees request paths."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
