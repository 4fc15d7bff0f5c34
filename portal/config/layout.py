"""Reading `[[fields]]` and `[[groups]]`: what contacts see."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from portal.config.checker import Checker
from portal.config.model import Choice, FieldSpec, Followup, GroupSpec, ItemSpec
from portal.crm.base import LEGAL_BASES
from portal.fields import FIELD_TYPES, FIELDS


def read_fields(c: Checker, entries: Any, languages: Sequence[str]) -> list[FieldSpec]:
    if not isinstance(entries, list):
        c.report("fields", "must be a list of [[fields]] blocks")
        return []
    specs: list[FieldSpec] = []
    for n, table in enumerate(entries):
        spec = read_field(c, table, f"fields[{n}]", languages, f"field{n}")
        if spec.key in {s.key for s in specs}:
            c.report(f"fields[{n}].key", f'"{spec.key}" is used twice')
        specs.append(spec)
    return specs


def read_field(c: Checker, table: Mapping[str, Any], w: str, languages: Sequence[str],
               fallback_key: str) -> FieldSpec:
    key = c.get(table, "key", str, w, fallback_key, required=True)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
        c.report(f"{w}.key", "must be lower-case letters, digits and _")
    kind = c.get(table, "type", str, w, "text", required=True)
    if kind not in FIELD_TYPES:
        c.report(f"{w}.type", f'"{kind}" is not one of {", ".join(FIELD_TYPES)}')
        kind = "text"
    choices = tuple(read_choices(c, table.get("choices", []), f"{w}.choices", languages))
    from_crm = c.get(table, "choices_from_crm", bool, w, False)
    if FIELDS[kind].needs_choices and not choices and not from_crm:
        c.report(w, "a select needs choices, or choices_from_crm = true")
    max_length = c.get(table, "max_length", int, w, None)
    if max_length is not None and max_length < 1:
        c.report(f"{w}.max_length", "must be 1 or more")
    return FieldSpec(
        key=key,
        crm_field=c.get(table, "crm_field", str, w, key),
        type=kind,
        label=c.labels(table, "label", w, languages),
        help=c.labels(table, "help", w, languages, required=False),
        required=c.get(table, "required", bool, w, False),
        editable=c.get(table, "editable", bool, w, True),
        max_length=max_length,
        pattern=_pattern(c, table, w),
        choices=choices,
        choices_from_crm=from_crm,
    )


def _pattern(c: Checker, table: Mapping[str, Any], w: str) -> str | None:
    pattern: str | None = c.get(table, "pattern", str, w, None)
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            c.report(f"{w}.pattern", f"is not a valid regular expression: {exc}")
            return None
    return pattern


def read_choices(c: Checker, entries: Any, where: str, languages: Sequence[str]) -> list[Choice]:
    if not isinstance(entries, list):
        c.report(where, "must be a list")
        return []
    out = []
    for n, entry in enumerate(entries):
        w = f"{where}[{n}]"
        if isinstance(entry, str):
            out.append(Choice(entry, dict.fromkeys(languages, entry)))
        elif isinstance(entry, dict):
            value = c.get(entry, "value", str, w, "", required=True)
            out.append(Choice(value, c.labels(entry, "label", w, languages)))
        else:
            c.report(w, "must be a text or a table with value and label")
    return out


def read_groups(c: Checker, entries: Any, languages: Sequence[str]) -> list[GroupSpec]:
    if not isinstance(entries, list):
        c.report("groups", "must be a list of [[groups]] blocks")
        return []
    groups: list[GroupSpec] = []
    seen: set[str] = set()
    for n, table in enumerate(entries):
        w = f"groups[{n}]"
        items = []
        for m, entry in enumerate(table.get("items", [])):
            item = read_item(c, entry, f"{w}.items[{m}]", languages, f"item{n}_{m}")
            if item.key in seen:
                c.report(f"{w}.items[{m}].key", f'"{item.key}" is used twice')
            seen.add(item.key)
            items.append(item)
        if not items:
            c.report(w, "a group needs at least one [[groups.items]]")
        groups.append(GroupSpec(
            key=c.get(table, "key", str, w, f"group{n}", required=True),
            label=c.labels(table, "label", w, languages),
            description=c.labels(table, "description", w, languages, required=False),
            items=tuple(items),
        ))
    return groups


def read_item(c: Checker, entry: Mapping[str, Any], w: str, languages: Sequence[str],
              fallback_key: str) -> ItemSpec:
    return ItemSpec(
        key=c.get(entry, "key", str, w, fallback_key, required=True),
        kind=c.get(entry, "kind", str, w, "list", required=True),
        ref=str(c.get(entry, "ref", (str, int), w, "", required=True)),
        value=c.get(entry, "value", str, w, None),
        label=c.labels(entry, "label", w, languages),
        description=c.labels(entry, "description", w, languages, required=False),
        image=c.get(entry, "image", str, w, None),
        on_subscribe=read_followup(c, entry.get("on_subscribe", {}), f"{w}.on_subscribe"),
        on_unsubscribe=read_followup(c, entry.get("on_unsubscribe", {}), f"{w}.on_unsubscribe"),
        legal_basis=read_legal_basis(c, entry, w),
    )


def read_legal_basis(c: Checker, entry: Mapping[str, Any], w: str) -> str:
    basis: str = c.get(entry, "legal_basis", str, w, "consent")
    if basis not in LEGAL_BASES:
        c.report(f"{w}.legal_basis", f'"{basis}" is not one of {", ".join(LEGAL_BASES)}')
        return "consent"
    return basis


def read_followup(c: Checker, table: Any, where: str) -> Followup:
    if not isinstance(table, dict):
        c.report(where, "must be a table with tags and/or automations")
        return Followup()
    tags = c.get(table, "tags", list, where, [])
    automations = c.get(table, "automations", list, where, [])
    return Followup(tuple(map(str, tags)), tuple(map(str, automations)))
