"""Long-lived "manage my preferences" links for newsletters.

The portal writes each contact's token into a CRM field, so every campaign
can carry it as a merge tag. A token is the contact's CRM reference
encrypted and authenticated (AES-GCM) with a key derived from the secret
key: it reads as random, and only the portal can make or open one. It is
valid while it still equals the value in the CRM: clearing or replacing the
field in the CRM revokes it.

Tokens of the earlier format (the reference and email signed, readable in
base64) keep working while the CRM holds them, so that links in newsletters
already sent still lead to the preferences; `flask tokens issue --replace`
swaps them for opaque ones."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from portal.db.keys import Keys, from_text, seal, to_text, unseal

PURPOSE = "newsletter token"
CONTEXT = b"portal.newsletter-link"
LEGACY_SALT = "portal.newsletter-link"


@dataclass(frozen=True)
class NewsletterClaim:
    contact_ref: str


class NewsletterTokens:
    def __init__(self, secret_key: str) -> None:
        self.key = Keys(secret_key).derive(PURPOSE)
        self.legacy = URLSafeSerializer(secret_key, salt=LEGACY_SALT)

    def make(self, contact_ref: str) -> str:
        """A new token (a fresh one each time: the nonce is random)."""
        return to_text(seal(self.key, contact_ref.encode(), CONTEXT))

    def read(self, token: str) -> NewsletterClaim | None:
        """The claim a token of ours makes; the caller still compares it
        with the CRM field before trusting it."""
        if "." in token:  # the earlier, signed format
            return self._read_legacy(token)
        sealed = from_text(token)
        ref = unseal(self.key, sealed, CONTEXT) if sealed else None
        return NewsletterClaim(ref.decode()) if ref else None

    def _read_legacy(self, token: str) -> NewsletterClaim | None:
        try:
            payload = self.legacy.loads(token)
        except BadSignature:
            return None
        if not isinstance(payload, dict) or "r" not in payload:
            return None
        return NewsletterClaim(str(payload["r"]))
