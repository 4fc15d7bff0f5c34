"""Reading `[[fields]]`, `[[groups]]` and `[page]`: what contacts see.

The same reading checks the configuration file and the marketing
workspace's drafts (tables of the same shape, kept in the database)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from portal.config.checker import Checker
from portal.config.model import Choice, FieldSpec, Followup, GroupSpec, ItemSpec, PageTexts
from portal.config.text import N_, Text
from portal.config.urls import url_problem
from portal.crm.base import LEGAL_BASES
from portal.fields import AUTOFILL_NAMES, FIELD_TYPES, FIELDS
from portal.fields.dates import bound_date, bound_problem

LAYOUT_KEYS = ("fields", "groups", "page")


@dataclass(frozen=True)
class Layout:
    """What contacts see: the fields, the subscription groups and the page's texts."""

    fields: tuple[FieldSpec, ...]
    groups: tuple[GroupSpec, ...]
    page: PageTexts


def read_layout(c: Checker, raw: Mapping[str, Any], languages: Sequence[str]) -> Layout:
    """The layout in `raw` (the file's tables, or a draft's), problems reported to `c`."""
    return Layout(fields=tuple(read_fields(c, raw.get("fields", []), languages)),
                  groups=tuple(read_groups(c, raw.get("groups", []), languages)),
                  page=read_page(c, raw.get("page", {}), languages))


PAGE_KEYS = ("intro", "footer", "organisation", "privacy_url", "contact_url")
MAILTO = re.compile(r"^mailto:[^@\s\"'<>]+@[^@\s\"'<>]+$")


def read_page(c: Checker, table: Any, languages: Sequence[str]) -> PageTexts:
    if not isinstance(table, dict):
        c.report("page", "must be a table")
        return PageTexts()
    for key in sorted(set(table) - set(PAGE_KEYS)):
        c.report(f"page.{key}", f"is not a setting of [page] (use {', '.join(PAGE_KEYS)})")
    links = {key: c.labels(table, key, "page", languages, required=False)
             for key in ("privacy_url", "contact_url")}
    for key, urls in links.items():
        for url in dict.fromkeys(urls.values()):  # one text for all languages: one report
            if key == "contact_url" and MAILTO.match(url):
                continue
            problem = url_problem(url, https=True)
            if problem:
                c.report(f"page.{key}", Text(N_("must be an https address like "
                                                "https://www.example.org/privacy%(mailto)s "
                                                "(it %(problem)s)"), problem=problem,
                                             mailto=' or "mailto:someone@example.org"'
                                             if key == "contact_url" else ""))
    return PageTexts(intro=c.labels(table, "intro", "page", languages, required=False),
                     footer=c.labels(table, "footer", "page", languages, required=False),
                     organisation=c.get(table, "organisation", str, "page", ""), **links)


def read_fields(c: Checker, entries: Any, languages: Sequence[str]) -> list[FieldSpec]:
    if not isinstance(entries, list):
        c.report("fields", "must be a list of [[fields]] blocks")
        return []
    specs: list[FieldSpec] = []
    for n, table in enumerate(entries):
        spec = read_field(c, table, f"fields[{n}]", languages, f"field{n}")
        if spec.key in {s.key for s in specs}:
            c.report(f"fields[{n}].key", Text(N_('"%(key)s" is used twice'), key=spec.key))
        specs.append(spec)
    return specs


def read_field(c: Checker, table: Mapping[str, Any], w: str, languages: Sequence[str],
               fallback_key: str) -> FieldSpec:
    key = c.get(table, "key", str, w, fallback_key, required=True)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
        c.report(f"{w}.key", Text(N_("must be lower-case letters, digits and _")))
    kind = c.get(table, "type", str, w, "text", required=True)
    if kind not in FIELD_TYPES:
        c.report(f"{w}.type", Text(N_('"%(type)s" is not one of %(types)s'), type=kind,
                                   types=", ".join(FIELD_TYPES)))
        kind = "text"
    choices = tuple(read_choices(c, table.get("choices", []), f"{w}.choices", languages))
    from_crm = c.get(table, "choices_from_crm", bool, w, False)
    if FIELDS[kind].needs_choices and not choices and not from_crm:
        c.report(w, Text(N_("a select needs choices, or choices_from_crm = true")))
    max_length = c.get(table, "max_length", int, w, None)
    if max_length is not None and max_length < 1:
        c.report(f"{w}.max_length", Text(N_("must be 1 or more")))
    earliest = _date_bound(c, table, "earliest", w, kind)
    latest = _date_bound(c, table, "latest", w, kind)
    first, last = bound_date(earliest), bound_date(latest)
    if first and last and first > last:
        c.report(f"{w}.latest", Text(N_("must not come before earliest")))
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
        earliest=earliest,
        latest=latest,
        autocomplete=_autocomplete(c, table, w),
        read_only_help=c.labels(table, "read_only_help", w, languages, required=False),
        wanted=c.get(table, "wanted", bool, w, False),
        audience=read_audience_tags(c, table, w),
    )


def _date_bound(c: Checker, table: Mapping[str, Any], key: str, w: str, kind: str) -> str | None:
    """A date bound as text; TOML may give a fixed one as a date."""
    value = table.get(key)
    if value is None or value == "":
        return None
    bound: str | None = value.isoformat() if isinstance(value, dt.date) else \
        c.get(table, key, str, w, None)
    if bound is None:
        return None
    problem = bound_problem(bound) if kind == "date" else "is only for date fields"
    if problem:
        c.report(f"{w}.{key}", problem)
        return None
    return bound


def _autocomplete(c: Checker, table: Mapping[str, Any], w: str) -> str:
    name: str = c.get(table, "autocomplete", str, w, "")
    if name and name not in AUTOFILL_NAMES:
        c.report(f"{w}.autocomplete", f'"{name}" is not an autofill name (use one of '
                 f'{", ".join(sorted(AUTOFILL_NAMES))})')
        return ""
    return name


def _pattern(c: Checker, table: Mapping[str, Any], w: str) -> str | None:
    pattern: str | None = c.get(table, "pattern", str, w, None)
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            c.report(f"{w}.pattern", Text(N_("is not a valid regular expression: %(error)s"),
                                          error=str(exc)))
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
            c.report(w, Text(N_("must be a text or a table with value and label")))
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
                c.report(f"{w}.items[{m}].key", Text(N_('"%(key)s" is used twice'), key=item.key))
            seen.add(item.key)
            items.append(item)
        if not items:
            c.report(w, Text(N_("a group needs at least one [[groups.items]]")))
        group = GroupSpec(
            key=c.get(table, "key", str, w, f"group{n}", required=True),
            label=c.labels(table, "label", w, languages),
            description=c.labels(table, "description", w, languages, required=False),
            items=tuple(items),
        )
        groups.append(replace(group, in_unsubscribe_all=c.get(
            table, "in_unsubscribe_all", bool, w, not group.only_tags)))
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
        image=c.labels(entry, "image", w, languages, required=False),
        on_subscribe=read_followup(c, entry.get("on_subscribe", {}), f"{w}.on_subscribe"),
        on_unsubscribe=read_followup(c, entry.get("on_unsubscribe", {}), f"{w}.on_unsubscribe"),
        legal_basis=read_legal_basis(c, entry, w),
        audience=read_audience_tags(c, entry, w),
    )


def read_audience_tags(c: Checker, table: Mapping[str, Any], w: str) -> tuple[str, ...]:
    """A field's or item's `audience = { tags = [...] }`: only contacts with
    one of these tags see it (none: every contact)."""
    audience = table.get("audience", {})
    if not isinstance(audience, dict):
        c.report(f"{w}.audience", Text(N_("must be a table like { tags = [\"member\"] }")))
        return ()
    for key in sorted(set(audience) - {"tags"}):
        c.report(f"{w}.audience.{key}", Text(N_("is not a setting of audience (use tags)")))
    return read_tags(c, audience, f"{w}.audience")


def read_tags(c: Checker, table: Mapping[str, Any], where: str) -> tuple[str, ...]:
    """`tags = [...]`: names of CRM tags."""
    tags = c.get(table, "tags", list, where, [])
    if not all(isinstance(tag, str) and tag.strip() for tag in tags):
        c.report(f"{where}.tags", Text(N_("must be a list of tag names")))
        return ()
    return tuple(tag.strip() for tag in tags)


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
