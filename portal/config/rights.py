"""`[rights]`: what the portal does and keeps for the contact's rights.

```toml
[rights]
receipts = true                      # email the contact a receipt of every change
data_protection_email = "dpo@example.org"   # where erasure requests go (default: [mail] from)
erasure_tags = ["erasure-requested"] # added to the contact in the CRM with the request
erasure_automations = []             # started with it, where the CRM has automations
history_days = 730                   # how long "My history" and its change events are kept
not_me_days = 30                     # how long the "this was not me" links work
erasure_proof_days = 1095            # how long the proof that an erasure was done is kept
data_downloads_per_hour = 5          # "Download my data", per contact
```

Consent records are kept while the contact is a contact: they are the proof
that marketing must be able to give; a request to be forgotten deletes them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from portal.config.section import Report, Section

ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
COUNTS = ("history_days", "not_me_days", "erasure_proof_days", "data_downloads_per_hour")


@dataclass(frozen=True)
class RightsSettings:
    receipts: bool = True
    data_protection_email: str = ""
    erasure_tags: tuple[str, ...] = ()
    erasure_automations: tuple[str, ...] = ()
    history_days: int = 730
    not_me_days: int = 30
    erasure_proof_days: int = 1095
    data_downloads_per_hour: int = 5


def check(section: Mapping[str, Any], report: Report) -> None:
    if not isinstance(section.get("receipts", True), bool):
        report("receipts", "must be true or false")
    address = section.get("data_protection_email", "")
    if not isinstance(address, str) or (address and not ADDRESS.match(address)):
        report("data_protection_email", 'must be one email address, like "dpo@example.org"')
    for key in ("erasure_tags", "erasure_automations"):
        value = section.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            report(key, "must be a list of names")
    for key in COUNTS:
        value = section.get(key, 1)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            report(key, "must be a whole number, 1 or more")


def build(section: Mapping[str, Any]) -> RightsSettings:
    values = {key: section[key] for key in section}
    for key in ("erasure_tags", "erasure_automations"):
        if key in values:
            values[key] = tuple(values[key])
    return RightsSettings(**values)


SECTION = Section("rights", frozenset(f.name for f in fields(RightsSettings)), check, build)
