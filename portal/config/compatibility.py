"""Whether the configuration fits the CRM it names: every field exists with a
compatible type and its choices, every item exists, the portal's own fields
are there, tags are asked only of a CRM that has them. `portal doctor` and
the marketing workspace show these findings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from portal.config.model import Choice, Config, FieldSpec, ItemSpec
from portal.config.text import N_, Text
from portal.crm.base import Catalog, CrmAdapter, CrmFieldInfo
from portal.fields import compatible


@dataclass(frozen=True)
class Finding:
    ok: bool
    what: str
    fix: str = ""
    about: str = ""  # "field KEY" or "item KEY": what the workspace shows it beside


def check_catalog(adapter: CrmAdapter, config: Config) -> list[Finding]:
    """Every finding about `config` against what `adapter`'s CRM offers (CRM calls)."""
    return check_against(adapter, adapter.describe(), adapter.automations(), config)


def check_against(adapter: CrmAdapter, catalog: Catalog, offered: Iterable[tuple[str, str]],
                  config: Config) -> list[Finding]:
    """Every finding about `config` against a catalogue and the automations
    (id, name) already read from `adapter`'s CRM."""
    automations = {ident for ident, _name in offered}
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
    names = {"key": spec.key, "crm": spec.crm_field, "about": f"field {spec.key}"}
    if info is None:
        return _finding(False, N_('field "%(key)s" (crm_field = "%(crm)s"): not in the CRM'),
                        N_("create it in the CRM or fix crm_field; `portal fields` lists what "
                           "exists."), **names)
    if not compatible(spec.type, info.portal_type):
        return _finding(
            False, N_('field "%(key)s" (crm_field = "%(crm)s"): the CRM field is %(crm_type)s, '
                      "the configuration says %(type)s"),
            N_("change type to %(portal_type)s or use a CRM field of a matching type.")
            if info.portal_type else N_("use a CRM field of a type the portal supports."),
            crm_type=info.type, type=spec.type, portal_type=info.portal_type or "", **names)
    if spec.editable and info.read_only:
        return _finding(False, N_('field "%(key)s" (crm_field = "%(crm)s"): the CRM field is '
                                  "read-only"),
                        N_("set editable = false for it, or make it writable in the CRM."), **names)
    missing = _missing_choices(spec.choices, info)
    if missing:
        return _finding(False, N_('field "%(key)s" (crm_field = "%(crm)s"): %(crm_type)s, but the '
                                  "CRM has no option %(missing)s"),
                        N_("add the options in the CRM or fix the choices' values."),
                        crm_type=info.type, missing=", ".join(missing), **names)
    return _finding(True, N_('field "%(key)s" (crm_field = "%(crm)s"): %(crm_type)s'), "",
                    crm_type=info.type, **names)


def _finding(ok: bool, what: str, fix: str, about: str = "", **values: object) -> Finding:
    """A finding whose texts the workspace can show in the staff member's language."""
    return Finding(ok, Text(what, **values), Text(fix, **values) if fix else "", about)


def portal_field_keys(config: Config) -> dict[str, str]:
    """The CRM fields the portal itself writes, by the setting that names them."""
    language = config.portal.language_preference
    named = {"last_changed_field": config.portal.last_changed_field,
             "newsletter_token_field": config.portal.newsletter_token_field,
             "language_preference.field": language.crm_field if language.mode == "field" else ""}
    return {label: key for label, key in named.items() if key}


def _portal_fields(config: Config, by_key: Mapping[str, CrmFieldInfo]) -> list[Finding]:
    return [_finding(True, N_('portal.%(setting)s = "%(key)s"'), "", setting=label, key=key)
            if key in by_key else
            _finding(False, N_('portal.%(setting)s = "%(key)s": not in the CRM'),
                     N_("create a text field for it in the CRM (see docs/crm/) or fix "
                        "portal.%(setting)s."), setting=label, key=key)
            for label, key in portal_field_keys(config).items()]


def _missing_choices(choices: Iterable[Choice], info: CrmFieldInfo) -> list[str]:
    offered = {value for value, _ in info.choices}
    return [c.value for c in choices if c.value not in offered] if offered else []


def _item(adapter: CrmAdapter, catalog: Catalog, automations: set[str],
          spec: ItemSpec) -> list[Finding]:
    names = {"key": spec.key, "kind": spec.kind, "ref": spec.ref, "about": f"item {spec.key}"}
    found = [_item_exists(adapter, catalog, spec, names)]
    wanted = (*spec.on_subscribe.automations, *spec.on_unsubscribe.automations)
    found += [_finding(False, N_('item "%(key)s" (%(kind)s %(ref)s): automation "%(automation)s" '
                                 "not in the CRM"),
                       N_("use an automation id that `portal fields` lists."),
                       automation=automation, **names)
              for automation in wanted if automations and automation not in automations]
    return found


def _item_exists(adapter: CrmAdapter, catalog: Catalog, spec: ItemSpec,
                 names: dict[str, str]) -> Finding:
    known = {i.item: i.label for i in catalog.items}
    if spec.kind not in adapter.item_kinds:
        return _finding(False, N_('item "%(key)s" (%(kind)s %(ref)s): %(crm)s has no %(kind)ss'),
                        N_("use kind = one of: %(kinds)s."), crm=adapter.kind,
                        kinds=", ".join(sorted(adapter.item_kinds)) or "none", **names)
    if spec.kind == "tag":
        in_use = spec.ref in catalog.tags or spec.item in known
        return _finding(True, N_('item "%(key)s" (%(kind)s %(ref)s)') if in_use else
                        N_('item "%(key)s" (%(kind)s %(ref)s): not used yet; it is created on first '
                           "use"), "", **names)
    if spec.item in known:
        return _finding(True, N_('item "%(key)s" (%(kind)s %(ref)s): %(label)s'), "",
                        label=known[spec.item], **names)
    return _finding(False, N_('item "%(key)s" (%(kind)s %(ref)s): not in the CRM'),
                    N_("create it in the CRM or fix ref; `portal fields` lists what exists."),
                    **names)


def _tags(adapter: CrmAdapter, config: Config) -> list[Finding]:
    """Say so when the configuration asks for tags from a CRM that has none (HubSpot)."""
    asking = [f'item "{i.key}" (tags on subscribe/unsubscribe)' for i in config.items()
              if i.on_subscribe.tags or i.on_unsubscribe.tags]
    if config.portal.language_preference.mode == "tags":
        asking.append('portal.language_preference (mode = "tags")')
    if config.portal.audience.tags:
        asking.append("portal.audience")
    asking += [f'field "{spec.key}" (audience)' for spec in config.fields if spec.audience]
    asking += [f'item "{item.key}" (audience)' for item in config.items() if item.audience]
    if config.register.tags:
        asking.append("register.tags")
    if not asking or adapter.supports_tags:
        return []
    return [_finding(False, N_("%(crm)s has no tags, but %(asking)s asks for them"),
                     N_("remove those tags, use subscription items instead, or set the stand-in "
                        "for tags described in docs/crm/%(crm)s.md."),
                     crm=adapter.kind, asking="; ".join(asking))]


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
