"""HubSpot's Communication Preferences v4 as the adapter writes them: each
subscription state with the legal basis of the item's consent record, and an
address's statuses moved to the new address when a contact's email changes
(HubSpot ties statuses to the address, not to the contact)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from portal.crm import planning
from portal.crm.base import Change, Consent, CrmValidationError, ItemRef
from portal.crm.http import CrmHttp

# The portal's legal bases (crm.base.LEGAL_BASES) as HubSpot names them; a
# basis HubSpot has no name for (a public task, a legal obligation) is sent
# as the configured one.
BASES = {"consent": ("CONSENT_WITH_NOTICE",), "contract": ("PERFORMANCE_OF_CONTRACT",),
         "legitimate_interest": ("LEGITIMATE_INTEREST_OTHER", "LEGITIMATE_INTEREST_CLIENT",
                                 "LEGITIMATE_INTEREST_PQL")}


@dataclass(frozen=True)
class Basis:
    """The configured legal basis and explanation, used where a state has no record."""

    configured: str
    explanation: str

    def of(self, consent: Consent | None) -> tuple[str, str]:
        """HubSpot's legal basis and explanation for a state with `consent`."""
        names = BASES.get(consent.legal_basis, ()) if consent else ()
        basis = self.configured if not names or self.configured in names else names[0]
        return basis, consent.explanation if consent else self.explanation

    def state(self, email: str, item: ItemRef, state: str, consent: Consent | None,
              crm: str) -> dict[str, Any]:
        """One input of a v4 batch write."""
        basis, explanation = self.of(consent)
        return {"subscriberIdString": email, "subscriptionId": type_id(item, crm),
                "statusState": state, "channel": "EMAIL", "legalBasis": basis,
                "legalBasisExplanation": explanation}


def states_of(change: Change, opted_out: bool, resubscribe_type: str,
              crm: str) -> list[tuple[ItemRef, str]]:
    """The v4 states a change sets. HubSpot lifts an opt-out from all email
    only when the contact subscribes to a type again."""
    joins, leaves = planning.items_of(change, "subscription_type")
    if change.unsubscribe_all is False and opted_out and not joins:
        if not resubscribe_type:
            raise CrmValidationError(
                "HubSpot lifts an opt-out from all email only when the contact subscribes to "
                f"a subscription type again: set resubscribe_type in [crm.{crm}].", crm=crm)
        joins = [ItemRef("subscription_type", resubscribe_type)]
    return [(i, "SUBSCRIBED") for i in joins] + [(i, "UNSUBSCRIBED") for i in leaves]


def type_id(item: ItemRef, crm: str) -> int:
    try:
        return int(item.ref)
    except ValueError:
        raise CrmValidationError(f"HubSpot subscription type ids are numbers, not '{item.ref}'.",
                                 crm=crm) from None


@dataclass(frozen=True)
class Moved:
    """An old address's statuses, and whether it was unsubscribed from all email."""

    statuses: list[dict[str, Any]]
    opted_out: bool


def statuses_to_move(http: CrmHttp, channel: Mapping[str, str], old: str, new: str) -> Moved | None:
    """When a change gives a contact the address `new`: the statuses of `old`,
    read before it goes."""
    old, new = old.strip().lower(), new.strip().lower()
    if not new or new == old:
        return None
    body = http.json("GET", f"/communication-preferences/v4/statuses/{quoted(old)}",
                     params=dict(channel))
    statuses = [s for s in body.get("results", []) if s.get("status") in ("SUBSCRIBED", "UNSUBSCRIBED")]
    wide = http.json("GET", f"/communication-preferences/v4/statuses/{quoted(old)}/unsubscribe-all",
                     params=dict(channel))
    return Moved(statuses, any(s.get("status") == "UNSUBSCRIBED" for s in wide.get("results", [])))


def move_statuses(http: CrmHttp, channel: Mapping[str, str], moved: Moved, email: str,
                  basis: Basis) -> None:
    """Set the old address's statuses (and opt-out of all email) on `email`."""
    for status in moved.statuses:
        http.json("POST", f"/communication-preferences/v4/statuses/{quoted(email)}", json={
            "channel": "EMAIL", "subscriptionId": int(status["subscriptionId"]),
            "statusState": status["status"],
            "legalBasis": status.get("legalBasis") or basis.configured,
            "legalBasisExplanation": status.get("legalBasisExplanation") or basis.explanation})
    if moved.opted_out:
        http.json("POST", f"/communication-preferences/v4/statuses/{quoted(email)}/unsubscribe-all",
                  params=dict(channel))


def quoted(value: str) -> str:
    """An email or id as a path segment of HubSpot's API (the @ left as is)."""
    return quote(value, safe="@")
