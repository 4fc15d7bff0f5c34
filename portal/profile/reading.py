"""Reading a contact's profile from the CRM: which fields and items to ask for."""

from __future__ import annotations

from flask import g

from portal.cache import applied
from portal.crm.base import Contact, FieldRef, ItemRef, Profile
from portal.crm.limiter import calls_together
from portal.ledger import pending_changes
from portal.profile.newsletter import stored_token
from portal.services import portal
from portal.settings import Config


def field_refs(config: Config) -> list[FieldRef]:
    """Every CRM field the portal reads: exposed fields (not notes), the
    language field and the newsletter token field."""
    refs = [spec.ref for spec in config.fields if not spec.is_note]
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
    return [item.item for item in config.items()] + list(language_tag_items(config).values())


def read_profile(contact: Contact) -> Profile:
    """The profile as the contact last saved it: the CRM's data (cached), with
    the contact's changes still on their way to the CRM laid over it."""
    services = portal()
    # The ledger first: a change that lands meanwhile is in the cache by then.
    pending = pending_changes(services.ledger, services.crm.name, contact.ref)
    fields, items = field_refs(services.config), item_refs(services.config)
    # A read from the CRM takes all its slots at once (none on a cache hit).
    with calls_together(services.crm.name, services.crm.read_cost(fields, items)):
        profile = services.profiles.read(services.crm, contact, fields, items)
    for change in pending:
        profile = applied(profile, change)
    return profile


def crm_choices() -> dict[str, tuple[tuple[str, str], ...]]:
    """The CRM's own options for fields marked `choices_from_crm`, from the
    catalog (cached for `catalog_cache_seconds`); read once per request."""
    if "portal_crm_choices" not in g:
        services = portal()
        wanted = {spec.crm_field for spec in services.config.fields if spec.choices_from_crm}
        catalog = services.profiles.catalog(services.crm) if wanted else None
        g.portal_crm_choices = {info.key: info.choices for info in catalog.fields
                                if info.key in wanted} if catalog else {}
    return g.portal_crm_choices


def contact_languages(config: Config, profile: Profile) -> list[str]:
    """The languages the contact gets email in, as the CRM has them."""
    preference = config.portal.language_preference
    if preference.mode == "field":
        value = profile.values.get(preference.crm_field)
        chosen = value if isinstance(value, list) else ([value] if isinstance(value, str) else [])
        return [lang for lang in config.portal.languages if lang in chosen]
    tags = language_tag_items(config)
    return [lang for lang, item in tags.items() if item in profile.subscribed]


def newsletter_contact(token: str) -> Contact | None:
    """The contact a newsletter link belongs to, if the CRM still holds that token."""
    claim = portal().newsletter.read(token)
    if claim is None:
        return None
    contact, stored = stored_token(Contact(ref=claim.contact_ref, email=""))  # the CRM fills it in
    return contact if stored == token else None
