"""Keys derived from the app's secret key, one per purpose, and what the
portal does with them: keyed hashes of what it must find again without
keeping it (email and client addresses), and authenticated encryption of
what it must read back (session data, a link's email, a newsletter token's
contact reference).

Changing the secret key makes every hash and sealed value unreadable: the
sessions and pending links end, and the newsletter tokens must be issued again."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12  # AES-GCM's standard nonce, random for each sealing


class Keys:
    def __init__(self, secret_key: str | bytes) -> None:
        self._secret = secret_key.encode() if isinstance(secret_key, str) else secret_key

    def derive(self, purpose: str, extra: str = "") -> bytes:
        """A 256-bit key for one purpose; with `extra` (e.g. a token), a key
        that only someone holding both the secret key and `extra` can make."""
        key = _derive(self._secret, purpose)
        return hmac.digest(key, extra.encode(), "sha256") if extra else key

    def fingerprint(self, purpose: str, value: str) -> str:
        """A keyed hash (HMAC-SHA256, hex): equal values match, and without
        the secret key no list of candidates can be tried against it."""
        return hmac.new(self.derive(purpose), value.encode(), "sha256").hexdigest()


@lru_cache(maxsize=64)
def _derive(secret: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"portal:{purpose}".encode()).derive(secret)


def seal(key: bytes, data: bytes, context: bytes = b"") -> bytes:
    """Encrypt and authenticate `data`; `context` must be given again to open it."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, data, context)


def unseal(key: bytes, sealed: bytes, context: bytes = b"") -> bytes | None:
    """The data, or None when `sealed` was not made with this key and context."""
    if len(sealed) <= NONCE_BYTES:
        return None
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
    except InvalidTag:
        return None


def to_text(raw: bytes) -> str:
    """URL-safe base64 without padding: fit for a path segment."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def from_text(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def new_token() -> str:
    """A random, unguessable token (256 bits) that says nothing."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a random token: enough to find it, not to use it."""
    return hashlib.sha256(token.encode()).hexdigest()
