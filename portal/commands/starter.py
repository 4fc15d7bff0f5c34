"""A starter configuration: TOML blocks for the fields and items marketing
picks from the CRM's catalogue. Labels keep the CRM's own (English) words
under `en` and leave the other languages empty, flagged for translation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from portal.config import LANGUAGES
from portal.crm.base import Catalog, CrmFieldInfo

# Marks the texts marketing still has to write; check-config refuses them empty.
FLAG = "  # translate: " + ", ".join(lang for lang in LANGUAGES if lang != "en")


def starter_config(catalog: Catalog, pick: Sequence[str] = (), skip: Iterable[str] = ()) -> str:
    """TOML blocks for the picked fields and items (all, without `pick`), but
    the fields in `skip` (the portal's own), labels to translate."""
    chosen, skipped = set(pick), set(skip)
    used: set[str] = set()
    lines: list[str] = []
    for info in catalog.fields:
        if info.portal_type is not None and info.key not in skipped \
                and (not chosen or info.key in chosen):
            lines += _field(info, used)
    items = [i for i in catalog.items if not chosen or i.item.ref in chosen]
    if items:
        lines += ["[[groups]]", 'key = "newsletters"', f"label = {_labels('Newsletters')}", ""]
        for item in items:
            key = _portal_key(item.label or item.item.ref, used)
            lines += ["  [[groups.items]]", f"  key = {_q(key)}", f"  kind = {_q(item.item.kind)}",
                      f"  ref = {_q(item.item.ref)}", f"  label = {_labels(item.label)}", ""]
    return "\n".join(lines).rstrip() + "\n"


def _field(info: CrmFieldInfo, used: set[str]) -> list[str]:
    key = _portal_key(info.key if not info.key.isdigit() else info.label, used)
    lines = ["[[fields]]", f"key = {_q(key)}", f"crm_field = {_q(info.key)}",
             f"type = {_q(info.portal_type or 'text')}", f"label = {_labels(info.label)}"]
    if info.read_only:
        lines.append("editable = false")
    if info.portal_type in ("select", "multiselect"):
        lines += _choices(info)
    return [*lines, ""]


def _choices(info: CrmFieldInfo) -> list[str]:
    if not info.choices:
        return ["choices_from_crm = true"]
    rows = [f"  {{ value = {_q(v)}, label = {_texts(lbl)} }},{FLAG}" for v, lbl in info.choices]
    return ["choices = [", *rows, "]"]


def _labels(text: str) -> str:
    """The CRM's words under `en`, the other languages empty and flagged."""
    return _texts(text) + FLAG


def _texts(text: str) -> str:
    return "{ " + ", ".join(f"{lang} = {_q(text if lang == 'en' else '')}" for lang in LANGUAGES) + " }"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _portal_key(text: str, used: set[str]) -> str:
    base = "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_") or "field"
    if not base[0].isalpha():
        base = f"f_{base}"
    key, n = base, 2
    while key in used:
        key, n = f"{base}_{n}", n + 1
    used.add(key)
    return key
