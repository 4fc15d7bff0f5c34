"""A layout as a document: the `[[fields]]`, `[[groups]]` and `[page]`
tables of the configuration file, as plain data. Drafts and published
versions keep it as JSON; `portal layout export` writes it as TOML; the
configuration's own reader (portal.config.layout) checks it and turns it
into the specs contacts' pages use."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from portal.config import Config, FieldSpec, GroupSpec, ItemSpec, PageTexts
from portal.config.checker import Checker
from portal.config.layout import Layout, read_layout

Document = dict[str, Any]


def document_of(config: Config) -> Document:
    """The layout `config` serves, as a document in its canonical form."""
    page = _page(config.page)
    return {"fields": [_field(f) for f in config.fields],
            "groups": [_group(g) for g in config.groups],
            **({"page": page} if page else {})}


def check(document: Mapping[str, Any], languages: Sequence[str]) -> tuple[Layout, list[tuple[str, str]]]:
    """The layout and every problem in it (place, message), by the same
    reading as `check-config`."""
    checker = Checker("")
    layout = read_layout(checker, document, languages)
    return layout, checker.found


def applied(config: Config, layout: Layout) -> Config:
    """`config` (infrastructure from the file) serving `layout`."""
    return replace(config, fields=layout.fields, groups=layout.groups, page=layout.page)


def dumps(document: Mapping[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False)


def loads(text: str) -> Document:
    loaded: Document = json.loads(text)
    return loaded


# --- specs to tables -----------------------------------------------------------------


def _texts(labels: Mapping[str, str]) -> dict[str, str]:
    return {lang: text for lang, text in labels.items() if text}


def _field(spec: FieldSpec) -> dict[str, Any]:
    table: dict[str, Any] = {"key": spec.key, "crm_field": spec.crm_field, "type": spec.type,
                             "label": _texts(spec.label)}
    optional = {
        "help": _texts(spec.help), "required": spec.required, "max_length": spec.max_length,
        "pattern": spec.pattern,
        "choices": [{"value": c.value, "label": _texts(c.label)} for c in spec.choices],
        "choices_from_crm": spec.choices_from_crm, "earliest": spec.earliest,
        "latest": spec.latest, "autocomplete": spec.autocomplete,
        "read_only_help": _texts(spec.read_only_help), "wanted": spec.wanted,
        "audience": _audience(spec.audience)}
    table.update({key: value for key, value in optional.items() if value})
    if not spec.editable:  # editable is the default: only its opposite is written
        table["editable"] = False
    return table


def _group(group: GroupSpec) -> dict[str, Any]:
    table: dict[str, Any] = {"key": group.key, "label": _texts(group.label)}
    if _texts(group.description):
        table["description"] = _texts(group.description)
    table["items"] = [_item(i) for i in group.items]
    if group.in_unsubscribe_all == group.only_tags:  # only the opposite of the default is written
        table["in_unsubscribe_all"] = group.in_unsubscribe_all
    return table


def _item(item: ItemSpec) -> dict[str, Any]:
    table: dict[str, Any] = {"key": item.key, "kind": item.kind, "ref": item.ref,
                             "label": _texts(item.label)}
    if item.value:
        table["value"] = item.value
    if _texts(item.description):
        table["description"] = _texts(item.description)
    if _texts(item.image):
        table["image"] = _texts(item.image)
    if item.legal_basis != "consent":  # consent is the default: only another basis is written
        table["legal_basis"] = item.legal_basis
    for name, followup in (("on_subscribe", item.on_subscribe), ("on_unsubscribe", item.on_unsubscribe)):
        if followup.tags or followup.automations:
            table[name] = {k: list(v) for k, v in
                           (("tags", followup.tags), ("automations", followup.automations)) if v}
    if item.audience:
        table["audience"] = _audience(item.audience)
    return table


def _audience(tags: Sequence[str]) -> dict[str, Any]:
    """`audience = { tags = [...] }`; empty (every contact) when there are no tags."""
    return {"tags": list(tags)} if tags else {}


def _page(page: PageTexts) -> dict[str, Any]:
    table: dict[str, Any] = {"intro": _texts(page.intro), "footer": _texts(page.footer),
                             "organisation": page.organisation,
                             "privacy_url": _texts(page.privacy_url),
                             "contact_url": _texts(page.contact_url)}
    return {key: value for key, value in table.items() if value}


# --- TOML -------------------------------------------------------------------------------

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def to_toml(document: Mapping[str, Any]) -> str:
    """The document as the configuration file's `[[fields]]`, `[[groups]]` and `[page]`."""
    lines: list[str] = []
    for table in document.get("fields", []):
        lines += ["[[fields]]", *_pairs(table), ""]
    for group in document.get("groups", []):
        lines += ["[[groups]]", *_pairs({k: v for k, v in group.items() if k != "items"}), ""]
        for item in group.get("items", []):
            lines += ["  [[groups.items]]", *("  " + line for line in _pairs(item)), ""]
    if document.get("page"):
        lines += ["[page]", *_pairs(document["page"]), ""]
    return "\n".join(lines).rstrip() + "\n"


def _pairs(table: Mapping[str, Any]) -> list[str]:
    return [f"{_key(key)} = {_value(value)}" for key, value in table.items()]


def _key(key: str) -> str:
    return key if BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # A JSON string is a TOML basic string: the same escapes.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        if value and isinstance(value[0], Mapping):
            return "[\n" + "".join(f"  {_value(v)},\n" for v in value) + "]"
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {type(value).__name__}")
