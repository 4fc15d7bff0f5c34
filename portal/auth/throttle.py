"""Limits on sign-in link requests, per email and per client address.

Counters live in memory by default and in Redis when `[portal] storage_url`
names one, so that several web servers share them."""

from __future__ import annotations

import hashlib

from limits import RateLimitItemPerHour
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


class LinkRequestThrottle:
    def __init__(self, per_email: int, per_address: int, storage_url: str = "memory://") -> None:
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_url))
        self.per_email = RateLimitItemPerHour(per_email)
        self.per_address = RateLimitItemPerHour(per_address)

    def allow(self, email: str, address: str) -> bool:
        """Count one request; False when either budget is spent.

        Both counters are always tested, so a refusal takes the same path
        whether or not the email is known."""
        email_key = hashlib.sha256(email.lower().encode()).hexdigest()  # no addresses in Redis
        address_ok = self.limiter.hit(self.per_address, "link-address", address)
        email_ok = self.limiter.hit(self.per_email, "link-email", email_key)
        return address_ok and email_ok
