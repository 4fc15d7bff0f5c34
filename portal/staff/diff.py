"""What changed between two layouts, in words a staff member reads: each
field, group and item added, removed or changed (which setting, from what
to what), a new order, and the page's texts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _

from portal.staff.document import Document

EMPTY = "—"


def flat(value: Any, prefix: str = "") -> dict[str, str]:
    """A table as `setting: text` pairs (`label.eu: Izena`), lists joined."""
    if isinstance(value, Mapping):
        out: dict[str, str] = {}
        for key, inner in value.items():
            if key != "items":
                out.update(flat(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        return {prefix: ", ".join(str(v.get("value", v)) if isinstance(v, Mapping) else str(v)
                                  for v in value)} | \
            {f"{prefix}.{v.get('value')}": ", ".join(f"{k}: {t}" for k, t in v["label"].items())
             for v in value if isinstance(v, Mapping) and isinstance(v.get("label"), Mapping)}
    return {prefix: str(value).lower() if isinstance(value, bool) else str(value)}


def _by_key(entries: list[Any]) -> dict[str, Mapping[str, Any]]:
    return {str(e.get("key")): e for e in entries if isinstance(e, Mapping)}


def _changes(what: str, key: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    before, after = flat(old), flat(new)
    return [_("%(what)s “%(key)s”: %(setting)s: %(old)s → %(new)s", what=what, key=key,
              setting=setting, old=before.get(setting) or EMPTY, new=after.get(setting) or EMPTY)
            for setting in sorted(set(before) | set(after))
            if before.get(setting) != after.get(setting)]


def _entries(what: str, reordered: str, old: list[Any], new: list[Any]) -> list[str]:
    before, after = _by_key(old), _by_key(new)
    lines = [_("%(what)s “%(key)s” added", what=what, key=key) for key in after if key not in before]
    lines += [_("%(what)s “%(key)s” removed", what=what, key=key) for key in before if key not in after]
    for key in after:
        if key in before:
            lines += _changes(what, key, before[key], after[key])
    kept_before = [k for k in before if k in after]
    kept_after = [k for k in after if k in before]
    if kept_before != kept_after:
        lines.append(reordered % {"order": ", ".join(kept_after)})
    return lines


def differences(old: Document, new: Document) -> list[str]:
    """Every difference from `old` to `new`; empty when they are the same."""
    groups_old, groups_new = old.get("groups", []), new.get("groups", [])
    items_old = [i for g in groups_old for i in g.get("items", [])]
    items_new = [i for g in groups_new for i in g.get("items", [])]
    lines = _entries(_("Field"), _("New order of the fields: %(order)s"), old.get("fields", []),
                     new.get("fields", []))
    lines += _entries(_("Group"), _("New order of the groups: %(order)s"), groups_old, groups_new)
    lines += _entries(_("Item"), _("New order of the items: %(order)s"), items_old, items_new)
    where_old = {str(i.get("key")): str(g.get("key")) for g in groups_old for i in g.get("items", [])}
    where_new = {str(i.get("key")): str(g.get("key")) for g in groups_new for i in g.get("items", [])}
    lines += [_("Item “%(key)s” moved to group “%(group)s”", key=key, group=group)
              for key, group in where_new.items() if where_old.get(key, group) != group]
    lines += _changes(_("Page"), _("texts"), old.get("page", {}), new.get("page", {}))
    return lines
