"""Edits to a draft document: add from the CRM's catalogue, remove,
reorder, and the values of one field, group, item or the page's texts as
the workspace's forms send them.

Whatever the staff member typed is kept as typed, right or wrong: the
checks (the configuration's own reading) say what is wrong beside it, and
nothing typed is lost to a validation error."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from portal.config import LANGUAGES
from portal.crm.base import CrmFieldInfo, CrmItemInfo
from portal.staff.document import Document

# Places in a draft: ("fields", i), ("groups", g) or ("items", g, i).
Place = tuple[int, ...]


def _slug(text: str, used: set[str]) -> str:
    """A portal key from the CRM's name for a thing, unused in the draft yet."""
    base = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "field"
    if not base[0].isalpha():
        base = f"f_{base}"
    key, n = base, 2
    while key in used:
        key, n = f"{base}_{n}", n + 1
    return key


def item_keys(document: Document) -> set[str]:
    return {str(i.get("key")) for g in document.get("groups", []) for i in g.get("items", [])}


def add_field(document: Document, info: CrmFieldInfo) -> int:
    """Expose a CRM field: its type, its choices, the CRM's label in English
    (the other languages left to write). Returns its place."""
    fields: list[dict[str, Any]] = document.setdefault("fields", [])
    key = _slug(info.key if not info.key.isdigit() else info.label, {str(f.get("key")) for f in fields})
    table: dict[str, Any] = {"key": key, "crm_field": info.key, "type": info.portal_type or "text",
                             "label": {"en": info.label or info.key}}
    if info.read_only:
        table["editable"] = False
    if table["type"] in ("select", "multiselect"):
        if info.choices:
            table["choices"] = [{"value": v, "label": {"en": label}} for v, label in info.choices]
        else:
            table["choices_from_crm"] = True
    fields.append(table)
    return len(fields) - 1


def add_group(document: Document) -> int:
    groups: list[dict[str, Any]] = document.setdefault("groups", [])
    key = _slug("group", {str(g.get("key")) for g in groups})
    groups.append({"key": key, "label": {}, "items": []})
    return len(groups) - 1


def add_item(document: Document, group: int, info: CrmItemInfo) -> int:
    """Offer a CRM list, segment, tag... in `group` (a new group if it is out of range)."""
    groups = document.setdefault("groups", [])
    if not 0 <= group < len(groups):
        group = add_group(document)
    item: dict[str, Any] = {"key": _slug(info.label or info.item.ref, item_keys(document)),
                            "kind": info.item.kind, "ref": info.item.ref,
                            "label": {"en": info.label or info.item.ref}}
    if info.item.value:
        item["value"] = info.item.value
    items: list[dict[str, Any]] = groups[group].setdefault("items", [])
    items.append(item)
    return len(items) - 1


def entries(document: Document, kind: str, place: Place) -> tuple[list[Any], int] | None:
    """The list holding the entry at `place`, and its index there."""
    try:
        if kind == "fields" and len(place) == 1:
            return document["fields"], place[0]
        if kind == "groups" and len(place) == 1:
            return document["groups"], place[0]
        if kind == "items" and len(place) == 2:
            return document["groups"][place[0]]["items"], place[1]
    except (KeyError, IndexError, TypeError):
        return None
    return None


def move(document: Document, kind: str, place: Place, step: int) -> bool:
    found = entries(document, kind, place)
    if found is None:
        return False
    items, index = found
    target = index + step
    if not (0 <= index < len(items) and 0 <= target < len(items)):
        return False
    items[index], items[target] = items[target], items[index]
    return True


def remove(document: Document, kind: str, place: Place) -> dict[str, Any] | None:
    found = entries(document, kind, place)
    if found is None or not 0 <= found[1] < len(found[0]):
        return None
    removed: dict[str, Any] = found[0].pop(found[1])
    return removed


# --- forms to tables ----------------------------------------------------------------------


def texts(form: Mapping[str, str], name: str) -> dict[str, str]:
    """`name_es`, `name_eu`, `name_en` as one table of texts, the empty ones left out."""
    return {lang: form.get(f"{name}_{lang}", "").strip() for lang in LANGUAGES
            if form.get(f"{name}_{lang}", "").strip()}


def _number(text: str) -> int | str | None:
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text  # kept as typed: the check says what is wrong


def _words(text: str) -> list[str]:
    return [word.strip() for word in text.replace("\n", ",").split(",") if word.strip()]


def _set(table: dict[str, Any], key: str, value: Any) -> None:
    """Set `key`, or drop it when empty, so the draft holds only what was said."""
    if value in (None, "", [], {}, False):
        table.pop(key, None)
    else:
        table[key] = value


def choices_text(choices: Sequence[Any]) -> str:
    """Choices as the form shows them: one per line, `value | es | eu | en`."""
    lines = []
    for choice in choices:
        if isinstance(choice, Mapping):
            label = choice.get("label", {})
            label = label if isinstance(label, Mapping) else {}
            lines.append(" | ".join([str(choice.get("value", "")),
                                     *(str(label.get(lang, "")) for lang in LANGUAGES)]))
        else:
            lines.append(str(choice))
    return "\n".join(lines)


def read_choices(text: str) -> list[dict[str, Any]]:
    choices = []
    for line in text.splitlines():
        parts = [part.strip() for part in line.split("|")]
        if not parts[0]:
            continue
        labels = {lang: part for lang, part in zip(LANGUAGES, parts[1:], strict=False) if part}
        choices.append({"value": parts[0], "label": labels})
    return choices


def update_field(table: dict[str, Any], form: Mapping[str, str]) -> None:
    table["key"] = form.get("key", "").strip()
    table["crm_field"] = form.get("crm_field", "").strip()
    table["type"] = form.get("type", "text")
    table["label"] = texts(form, "label")
    _set(table, "help", texts(form, "help"))
    _set(table, "required", "required" in form)
    if "editable" in form:
        table.pop("editable", None)
    else:
        table["editable"] = False
    for key in ("max_length",):
        _set(table, key, _number(form.get(key, "")))
    for key in ("pattern", "earliest", "latest"):
        _set(table, key, form.get(key, "").strip())
    _set(table, "choices_from_crm", "choices_from_crm" in form)
    _set(table, "choices", read_choices(form.get("choices", "")))
    update_audience(table, form)


def update_group(table: dict[str, Any], form: Mapping[str, str]) -> None:
    table["key"] = form.get("key", "").strip()
    table["label"] = texts(form, "label")
    _set(table, "description", texts(form, "description"))


def update_item(table: dict[str, Any], form: Mapping[str, str]) -> None:
    for key in ("key", "kind", "ref"):
        table[key] = form.get(key, "").strip()
    _set(table, "value", form.get("value", "").strip())
    table["label"] = texts(form, "label")
    _set(table, "description", texts(form, "description"))
    _set(table, "image", texts(form, "image"))
    basis = form.get("legal_basis", "consent").strip()
    if basis == "consent":
        table.pop("legal_basis", None)
    else:
        table["legal_basis"] = basis
    for event in ("on_subscribe", "on_unsubscribe"):
        followup = {"tags": _words(form.get(f"{event}_tags", "")),
                    "automations": _words(form.get(f"{event}_automations", ""))}
        _set(table, event, {k: v for k, v in followup.items() if v})
    update_audience(table, form)


def update_audience(table: dict[str, Any], form: Mapping[str, str]) -> None:
    """Who sees a field or an item: the tags typed, separated by commas."""
    tags = _words(form.get("audience_tags", ""))
    _set(table, "audience", {"tags": tags} if tags else {})


def update_page(document: Document, form: Mapping[str, str]) -> None:
    page: dict[str, Any] = {}
    _set(page, "intro", texts(form, "intro"))
    _set(page, "footer", texts(form, "footer"))
    _set(page, "organisation", form.get("organisation", "").strip())
    _set(page, "privacy_url", texts(form, "privacy_url"))
    _set(page, "contact_url", texts(form, "contact_url"))
    _set(document, "page", page)
