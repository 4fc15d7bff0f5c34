"""Long-lived "manage my preferences" links for newsletters.

The portal writes each contact's token into a CRM field, so every campaign
can carry it as a merge tag. A token is valid while it is signed by us and
still equals the value in the CRM: clearing or replacing the field in the CRM
revokes it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "portal.newsletter-link"


@dataclass(frozen=True)
class NewsletterClaim:
    contact_ref: str
    email: str


class NewsletterTokens:
    def __init__(self, secret_key: str) -> None:
        self.serializer = URLSafeSerializer(secret_key, salt=SALT)

    def make(self, contact_ref: str, email: str) -> str:
        return str(self.serializer.dumps({"r": contact_ref, "e": email,
                                          "k": secrets.token_urlsafe(6)}))

    def read(self, token: str) -> NewsletterClaim | None:
        """The claim a well-signed token makes; the caller still compares it
        with the CRM field before trusting it."""
        try:
            payload = self.serializer.loads(token)
        except BadSignature:
            return None
        if not isinstance(payload, dict) or not {"r", "e"} <= payload.keys():
            return None
        return NewsletterClaim(str(payload["r"]), str(payload["e"]))
