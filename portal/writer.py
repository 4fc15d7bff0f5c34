"""Applying a contact's Change to the CRM (and its mirrors)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

from portal.crm.base import Change, CrmAdapter, CrmError

log = logging.getLogger(__name__)


class Outcome(Enum):
    APPLIED = "applied"  # in the CRM now
    QUEUED = "queued"  # kept safely; will reach the CRM shortly
    REFUSED = "refused"  # the CRM refused it for good; the contact must change something
    FAILED = "failed"  # could not be applied nor kept


@dataclass(frozen=True)
class WriteResult:
    outcome: Outcome
    error: CrmError | None = None


class Writer:
    def __init__(self, crm: CrmAdapter, mirrors: dict[str, CrmAdapter] | None = None) -> None:
        self.crm = crm
        self.mirrors = mirrors or {}

    def submit(self, change: Change) -> WriteResult:
        try:
            self.crm.apply(change)
        except CrmError as exc:
            log.warning("Change %s not applied to %s: %s", change.id, self.crm.name, exc)
            return WriteResult(Outcome.FAILED if exc.transient else Outcome.REFUSED, exc)
        return WriteResult(Outcome.APPLIED)
