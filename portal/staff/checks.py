"""The checks a draft gets, as the workspace shows them: the configuration
file's checks (the same reading as `check-config`) and the CRM
compatibility checks of `portal doctor`, each placed beside the field,
group or item it concerns, in the staff member's language."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import gettext

from portal.config import Config
from portal.config.compatibility import Finding, check_against
from portal.config.layout import Layout
from portal.config.text import translated
from portal.crm.base import CrmError
from portal.delivery import delivery
from portal.staff.catalogue import automations_of, catalog
from portal.staff.document import Document, applied, check

log = logging.getLogger(__name__)
PLACE = re.compile(r"^(fields\[\d+\]|groups\[\d+\]\.items\[\d+\]|groups\[\d+\]|page)")


@dataclass
class Checked:
    layout: Layout
    config: Config  # the file's settings serving the draft's layout
    problems: dict[str, list[str]] = field(default_factory=dict)  # place -> messages
    settings: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # place -> setting -> messages
    crm: dict[str, list[Finding]] = field(default_factory=dict)  # "field KEY" / "item KEY" / ""
    crm_checked: bool = True
    count: int = 0

    def crm_failures(self) -> int:
        return sum(1 for found in self.crm.values() for f in found if not f.ok)


def place_of(where: str) -> tuple[str, str]:
    """`fields[2].label` -> ("fields[2]", "label")."""
    match = PLACE.match(where)
    if match is None:
        return "", where
    return match.group(1), where[match.end():].lstrip(".")


def check_draft(document: Document, base: Config, with_crm: bool = True) -> Checked:
    layout, found = check(document, base.portal.languages)
    checked = Checked(layout, applied(base, layout), count=len(found))
    problems: dict[str, list[str]] = defaultdict(list)
    settings: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for where, message in found:
        place, setting = place_of(where)
        text = translated(message, gettext)
        problems[place].append(f"{setting}: {text}" if setting else text)
        settings[place][setting.split("[")[0].split(".")[0]].append(text)
    checked.problems, checked.settings = dict(problems), {k: dict(v) for k, v in settings.items()}
    if with_crm:
        _crm_findings(checked)
    return checked


def _crm_findings(checked: Checked) -> None:
    crm = delivery().crm
    try:
        findings = check_against(crm, catalog(), automations_of(crm), checked.config)
    except CrmError as exc:
        log.info("The CRM could not be asked about a draft: %s", exc)
        checked.crm_checked = False
        return
    by_place: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_place[finding.about].append(Finding(
            finding.ok, translated(finding.what, gettext),
            translated(finding.fix, gettext) if finding.fix else "", finding.about))
    checked.crm = dict(by_place)
