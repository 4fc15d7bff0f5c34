"""Whether the configuration fits the CRM it names: every field exists with a
compatible type and its choices, every item exists, the portal's own fields
are there, tags are asked only of a CRM that has them. `portal doctor` and
the marketing workspace show these findings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from portal.config.model import Choice, Config, FieldSpec, ItemSpec
from portal.crm.base import Catalog, CrmAdapter, CrmFieldInfo
from portal.fields import compatible

LISTS_HINT = "`portal fields` lists what exists"


@dataclass(frozen=True)
class Finding:
    ok: bool
    what: str
    fix: str = ""


def check_catalog(adapter: CrmAdapter, config: Config) -> list[Finding]:
    """Every finding about `config` against what `adapter`'s CRM offers (CRM calls)."""
    catalog = adapter.describe()
    automations = {ident for ident, _name in adapter.automations()}
    by_key = {f.key: f for f in catalog.fields}
    return [
        *(field_finding(spec, by_key.get(spec.crm_field)) for spec in config.fields
          if not spec.is_note),  # free text goes to a note, not a field
        *_portal_fields(config, by_key),
        *(finding for spec in config.items() for finding in _item(adapter, catalog, automations, spec)),
        *_tags(adapter, config),
        *(Finding(False, f"{where}: {problem}", "use a shorter tag name.")
          for where, problem in long_tag_names(config, {adapter.name: adapter.tag_name_limit})),
    ]


def field_finding(spec: FieldSpec, info: CrmFieldInfo | None) -> Finding:
    where = f'field "{spec.key}" (crm_field = "{spec.crm_field}")'
    if info is None:
        return Finding(False, f"{where}: not in the CRM",
                       f"create it in the CRM or fix crm_field; {LISTS_HINT}.")
    if not compatible(spec.type, info.portal_type):
        return Finding(
            False, f"{where}: the CRM field is {info.type}, the configuration says {spec.type}",
            f"change type to {info.portal_type} or use a CRM field of a matching type."
            if info.portal_type else "use a CRM field of a type the portal supports.")
    if spec.editable and info.read_only:
        return Finding(False, f"{where}: the CRM field is read-only",
                       "set editable = false for it, or make it writable in the CRM.")
    missing = _missing_choices(spec.choices, info)
    if missing:
        return Finding(False, f"{where}: {info.type}, but the CRM has no option {', '.join(missing)}",
                       "add the options in the CRM or fix the choices' values.")
    return Finding(True, f"{where}: {info.type}")


def portal_field_keys(config: Config) -> dict[str, str]:
    """The CRM fields the portal itself writes, by the setting that names them."""
    language = config.portal.language_preference
    named = {"last_changed_field": config.portal.last_changed_field,
             "newsletter_token_field": config.portal.newsletter_token_field,
             "language_preference.field": language.crm_field if language.mode == "field" else ""}
    return {label: key for label, key in named.items() if key}


def _portal_fields(config: Config, by_key: Mapping[str, CrmFieldInfo]) -> list[Finding]:
    return [Finding(True, f'portal.{label} = "{key}"') if key in by_key else
            Finding(False, f'portal.{label} = "{key}": not in the CRM',
                    f"create a text field for it in the CRM (see docs/crm/) or fix portal.{label}.")
            for label, key in portal_field_keys(config).items()]


def _missing_choices(choices: Iterable[Choice], info: CrmFieldInfo) -> list[str]:
    offered = {value for value, _ in info.choices}
    return [c.value for c in choices if c.value not in offered] if offered else []


def _item(adapter: CrmAdapter, catalog: Catalog, automations: set[str],
          spec: ItemSpec) -> list[Finding]:
    where = f'item "{spec.key}" ({spec.kind} {spec.ref})'
    found = [_item_exists(adapter, catalog, spec, where)]
    wanted = (*spec.on_subscribe.automations, *spec.on_unsubscribe.automations)
    found += [Finding(False, f'{where}: automation "{automation}" not in the CRM',
                      "use an automation id that `portal fields` lists.")
              for automation in wanted if automations and automation not in automations]
    return found


def _item_exists(adapter: CrmAdapter, catalog: Catalog, spec: ItemSpec, where: str) -> Finding:
    known = {i.item: i.label for i in catalog.items}
    if spec.kind not in adapter.item_kinds:
        kinds = ", ".join(sorted(adapter.item_kinds)) or "none"
        return Finding(False, f"{where}: {adapter.kind} has no {spec.kind}s", f"use kind = one of: {kinds}.")
    if spec.kind == "tag":
        in_use = spec.ref in catalog.tags or spec.item in known
        return Finding(True, where + ("" if in_use else ": not used yet; it is created on first use"))
    if spec.item in known:
        return Finding(True, f"{where}: {known[spec.item]}")
    return Finding(False, f"{where}: not in the CRM", f"create it in the CRM or fix ref; {LISTS_HINT}.")


def _tags(adapter: CrmAdapter, config: Config) -> list[Finding]:
    """Say so when the configuration asks for tags from a CRM that has none (HubSpot)."""
    asking = [f'item "{i.key}" (tags on subscribe/unsubscribe)' for i in config.items()
              if i.on_subscribe.tags or i.on_unsubscribe.tags]
    if config.portal.language_preference.mode == "tags":
        asking.append('portal.language_preference (mode = "tags")')
    if not asking or adapter.supports_tags:
        return []
    return [Finding(False, f"{adapter.kind} has no tags, but {'; '.join(asking)} asks for them",
                    "remove those tags, use subscription items instead, or set the stand-in "
                    f"for tags described in docs/crm/{adapter.kind}.md.")]


def configured_tags(config: Config) -> dict[str, str]:
    """Every tag name the configuration writes, with the setting that names it."""
    found: dict[str, str] = {}
    for item in config.items():
        if item.kind == "tag":
            found.setdefault(item.ref, f"groups.items.{item.key}.ref")
        for tag in (*item.on_subscribe.tags, *item.on_unsubscribe.tags):
            found.setdefault(tag, f"groups.items.{item.key}")
    preference = config.portal.language_preference
    if preference.mode == "tags":
        for lang, tag in preference.tags.items():
            found.setdefault(tag, f"portal.language_preference.tags.{lang}")
    return found


def long_tag_names(config: Config, limits: Mapping[str, int | None]) -> list[tuple[str, str]]:
    """(setting, problem) for each tag name longer than a CRM it goes to
    accepts (`limits`: CRM name -> its longest tag name, None for no limit)."""
    return [(where, f'the tag "{tag}" has {len(tag)} characters; {crm} takes at most {limit}')
            for crm, limit in limits.items() if limit
            for tag, where in configured_tags(config).items() if len(tag) > limit]
