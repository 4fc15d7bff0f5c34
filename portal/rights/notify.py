"""Telling the organisation: erasure requests and reports of changes a
contact did not make go to its data-protection address."""

from __future__ import annotations

from email.utils import parseaddr

from portal.config import Config


def organisation_address(config: Config) -> str:
    """`[rights] data_protection_email`, else the address mail is sent from."""
    return config.rights.data_protection_email or parseaddr(config.mail.sender)[1]
