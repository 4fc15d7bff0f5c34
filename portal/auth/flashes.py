"""Messages shown once, on the page a redirect leads to ("Your changes are
saved"), carried there in a signed cookie of their own rather than in the
session's record: a save and the page after it then write nothing to the
portal's database for them (on SQLite every write waits for the one writer's
turn that other contacts' pages wait for too). Flask's `flash()` and
`get_flashed_messages()` work as ever: the session interface moves them
between the session and the cookie (portal.auth.session)."""

from __future__ import annotations

from typing import Any

from flask import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

KEY = "_flashes"  # where Flask keeps them in the session
LASTS = 600  # seconds: a redirect is followed at once; a stale message is not news
Flashes = list[tuple[str, str]]


class FlashCookie:
    def __init__(self, secret_key: str, name: str) -> None:
        # Signed, so no one can make the portal say what it did not.
        self.serializer = URLSafeTimedSerializer(secret_key, salt="portal flashes")
        self.name = name

    def read(self, request: Request) -> Flashes:
        value = request.cookies.get(self.name)
        if not value:
            return []
        try:
            flashes = self.serializer.loads(value, max_age=LASTS)
        except BadSignature:  # tampered with, or expired
            return []
        if not isinstance(flashes, list):
            return []
        return [(str(category), str(message)) for category, message in flashes]

    def write(self, response: Response, flashes: Flashes, **options: Any) -> None:
        """Set the cookie to `flashes`, or remove it when there are none."""
        if flashes:
            response.set_cookie(self.name, self.serializer.dumps(flashes), max_age=LASTS,
                                **options)
        else:
            response.delete_cookie(self.name, **options)
