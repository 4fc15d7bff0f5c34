"""Who sees what: the portal's audience (`[portal.audience] tags`) and the
fields and items marketing keeps for contacts with some tags
(`audience = { tags = [...] }`). A contact's tags are read from the CRM as
items of kind "tag", like any other subscription item."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import replace

from portal.config import Config
from portal.config.memo import PerConfig
from portal.crm.base import Contact, CrmAdapter, ItemRef


def tag_items(tags: Iterable[str]) -> list[ItemRef]:
    return [ItemRef("tag", tag) for tag in dict.fromkeys(tags)]


def audience_tag_items(config: Config) -> list[ItemRef]:
    """Every tag some audience names: what a profile read must ask for."""
    tags = [*config.portal.audience.tags,
            *(tag for spec in config.fields for tag in spec.audience),
            *(tag for item in config.items() for tag in item.audience)]
    return tag_items(tags)


def in_audience(audience: Collection[str], tags: Collection[str]) -> bool:
    """Whether a contact with `tags` is among `audience` (an empty audience is everyone)."""
    return not audience or any(tag in tags for tag in audience)


def is_member(crm: CrmAdapter, contact: Contact, config: Config) -> bool:
    """Whether `contact` may have a sign-in link: the portal is for every
    contact, or they hold one of its audience's tags (one CRM read)."""
    wanted = config.portal.audience.tags
    if not wanted:
        return True
    profile = crm.read_profile(contact, [], tag_items(wanted))
    return in_audience(wanted, held_tags(profile.subscribed))


def held_tags(subscribed: Iterable[ItemRef]) -> set[str]:
    """The tags among a profile's items."""
    return {item.ref for item in subscribed if item.kind == "tag"}


_SEEN: PerConfig[Config] = PerConfig()


def seen_by(config: Config, tags: Collection[str]) -> Config:
    """`config` as a contact with `tags` sees it: the fields and items kept for
    others left out (and the groups left empty by that), so that no page
    shows them and no form accepts them. The same object for the same tags,
    and `config` itself where nothing has an audience: pages build their
    form class once per configuration (portal.profile.form)."""
    named = {item.ref for item in audience_tag_items(config)} - set(config.portal.audience.tags)
    if not named:
        return config
    held = frozenset(named & set(tags))
    return _SEEN.get(config, held, lambda: _filtered(config, held))


def _filtered(config: Config, tags: Collection[str]) -> Config:
    groups = tuple(replace(group, items=kept) for group in config.groups
                   if (kept := tuple(item for item in group.items
                                     if in_audience(item.audience, tags))))
    return replace(config, fields=tuple(spec for spec in config.fields
                                        if in_audience(spec.audience, tags)), groups=groups)
