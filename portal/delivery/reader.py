"""Reading a contact's profile for the pages: which fields and items to ask
the CRM for, through the cache, with the contact's changes still on their
way laid over it."""

from __future__ import annotations

import logging

from flask import g

from portal.config import Config, current
from portal.crm.base import Contact, CrmError, FieldRef, ItemRef, Profile
from portal.delivery import delivery
from portal.delivery.audience import audience_tag_items
from portal.delivery.cache import applied
from portal.delivery.ledger import pending_changes

log = logging.getLogger(__name__)


def field_refs(config: Config) -> list[FieldRef]:
    """Every CRM field the portal reads: exposed fields (not notes), the
    fields the unsubscribe page offers, the language field and the
    newsletter token field."""
    offers = config.portal.unsubscribe
    refs = [spec.ref for spec in (*config.fields, offers.fewer, offers.pause)
            if spec is not None and not spec.is_note]
    preference = config.portal.language_preference
    if preference.mode == "field":
        refs.append(FieldRef(preference.crm_field, "multiselect"))
    if config.portal.newsletter_token_field:
        refs.append(FieldRef(config.portal.newsletter_token_field, "text"))
    return list(dict.fromkeys(refs))


def language_tag_items(config: Config) -> dict[str, ItemRef]:
    preference = config.portal.language_preference
    if preference.mode != "tags":
        return {}
    return {lang: ItemRef("tag", tag) for lang, tag in preference.tags.items()
            if lang in config.portal.languages}


def item_refs(config: Config) -> list[ItemRef]:
    """Every item the portal reads: the configured ones, the language tags
    and the tags that say who sees what."""
    return list(dict.fromkeys([*(item.item for item in config.items()),
                               *language_tag_items(config).values(), *audience_tag_items(config)]))


def read_profile(contact: Contact) -> Profile:
    """The profile as the contact last saved it: the CRM's data (cached), with
    the contact's changes still on their way to the CRM laid over it."""
    parts = delivery()
    # The ledger first: a change that lands meanwhile is in the cache by then.
    pending = pending_changes(parts.ledger, parts.crm.name, contact.ref)
    config = current()
    profile = parts.profiles.read(parts.crm, contact, field_refs(config), item_refs(config))
    for change in pending:
        profile = applied(profile, change)
    return profile


def crm_choices() -> dict[str, tuple[tuple[str, str], ...]]:
    """The CRM's own options for fields marked `choices_from_crm`, from the
    catalog (cached for `catalog_cache_seconds`); read once per request. A
    field whose options cannot be read now (the CRM is down, or busy, and no
    copy is kept) has none here: the page shows it without its choices."""
    if "portal_crm_choices" not in g:
        parts = delivery()
        wanted = {spec.crm_field for spec in current().fields if spec.choices_from_crm}
        try:
            catalog = parts.profiles.catalog(parts.crm) if wanted else None
        except CrmError as exc:
            log.warning("The CRM's field catalogue could not be read: %s", exc)
            catalog = None
        g.portal_crm_choices = {info.key: info.choices for info in catalog.fields
                                if info.key in wanted} if catalog else {}
    choices: dict[str, tuple[tuple[str, str], ...]] = g.portal_crm_choices
    return choices


def contact_languages(config: Config, profile: Profile) -> list[str]:
    """The languages the contact gets email in, as the CRM has them."""
    preference = config.portal.language_preference
    if preference.mode == "field":
        value = profile.values.get(preference.crm_field)
        chosen = value if isinstance(value, list) else ([value] if isinstance(value, str) else [])
        return [lang for lang in config.portal.languages if lang in chosen]
    tags = language_tag_items(config)
    return [lang for lang, item in tags.items() if item in profile.subscribed]
