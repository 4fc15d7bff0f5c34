"""Reading `[portal]`, `[mail]` and `[crm.NAME]`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields, replace
from typing import Any
from urllib.parse import urlsplit

from portal.config.checker import Checker
from portal.config.layout import read_field, read_tags
from portal.config.model import (
    LANGUAGES,
    PROFILE_SECTIONS,
    Audience,
    FieldSpec,
    LanguagePreference,
    MailSettings,
    PortalSettings,
    UnsubscribeOffers,
)
from portal.config.urls import is_loopback, url_problem
from portal.crm import ADAPTERS

PLAIN_PATH = re.compile(r"^(/[A-Za-z0-9._~-]+)*$")
POSITIVE = (("link_lifetime_minutes", 30), ("session_idle_minutes", 30), ("session_lifetime_hours", 12),
            ("link_requests_per_email_per_hour", 5), ("link_requests_per_address_per_hour", 30))


MAIL_KEYS = frozenset({"backends", "from", "file_dir", "smtp_host", "smtp_port", "smtp_security",
                       "smtp_timeout"})


def refuse_unknown(c: Checker, table: Mapping[str, Any], section: str, known: Iterable[str]) -> None:
    """A misspelt setting is a problem, not a silent default."""
    known = sorted(known)
    for key in sorted(set(table) - set(known)):
        c.report(f"{section}.{key}", f"is not a setting of [{section}] (use {', '.join(known)})")


def read_portal(c: Checker, table: Mapping[str, Any]) -> PortalSettings:
    w = "portal"
    refuse_unknown(c, table, w, (f.name for f in fields(PortalSettings)))
    languages = tuple(c.get(table, "languages", list, w, list(LANGUAGES)))
    bad = [lang for lang in languages if lang not in LANGUAGES]
    if bad or not languages:
        c.report(f"{w}.languages", f"must list some of {', '.join(LANGUAGES)}")
        languages = LANGUAGES
    default = c.get(table, "default_language", str, w, languages[0])
    if default not in languages:
        c.report(f"{w}.default_language", "must be one of portal.languages")
        default = languages[0]
    positive = {}
    for key, fallback in POSITIVE:
        value = c.get(table, key, int, w, fallback)
        if value < 1:
            c.report(f"{w}.{key}", "must be 1 or more")
            value = fallback
        positive[key] = value
    demo = c.get(table, "demo", bool, w, False)
    return PortalSettings(
        name=c.get(table, "name", str, w, "Portal"),
        languages=languages,
        default_language=default,
        demo=demo,
        public_url=read_public_url(c, table, demo),
        last_changed_field=c.get(table, "last_changed_field", str, w, ""),
        newsletter_token_field=c.get(table, "newsletter_token_field", str, w, ""),
        newsletter_may_edit_personal_data=c.get(
            table, "newsletter_may_edit_personal_data", bool, w, False),
        note_title=c.labels(table, "note_title", w, languages, required=False),
        crm=c.get(table, "crm", str, w, "main"),
        mirrors=tuple(c.get(table, "mirrors", list, w, [])),
        storage_url=c.get(table, "storage_url", str, w, "memory://"),
        database_url=c.get(table, "database_url", str, w, ""),
        language_preference=read_language_preference(c, table.get("language_preference", {})),
        profile_order=read_profile_order(c, table),
        unsubscribe=read_unsubscribe(c, table.get("unsubscribe", {}), languages),
        audience=read_audience(c, table.get("audience", {}), languages),
        **positive,
    )


def read_profile_order(c: Checker, table: Mapping[str, Any]) -> tuple[str, ...]:
    """The profile page's sections, in the order given: each of them once."""
    order = tuple(c.get(table, "profile_order", list, "portal", list(PROFILE_SECTIONS)))
    if sorted(order) != sorted(PROFILE_SECTIONS):
        c.report("portal.profile_order", f'must list {", ".join(PROFILE_SECTIONS)}, each once, '
                 "in the order the page shows them")
        return PROFILE_SECTIONS
    return order


UNSUBSCRIBE_OFFERS = {"fewer": "select", "pause": "date", "reason": "select"}
ONE_CLICK_KEYS = ("one_click", "one_click_per_address_per_hour")
ONE_CLICK_MEANINGS = ("item", "all")
OFFER_KEYS = frozenset({"crm_field", "label", "help", "choices", "earliest", "latest"})


def read_unsubscribe(c: Checker, table: Any, languages: Sequence[str]) -> UnsubscribeOffers:
    """`[portal.unsubscribe]`: what the "unsubscribe from all" page offers instead."""
    w = "portal.unsubscribe"
    if not isinstance(table, dict):
        c.report(w, "must be a table")
        return UnsubscribeOffers()
    refuse_unknown(c, table, w, (*UNSUBSCRIBE_OFFERS, "only_some", *ONE_CLICK_KEYS))
    offers: dict[str, FieldSpec | None] = {}
    for key, kind in UNSUBSCRIBE_OFFERS.items():
        entry = table.get(key)
        if entry is None:
            offers[key] = None
        elif not isinstance(entry, dict):
            c.report(f"{w}.{key}", "must be a table with crm_field, label and choices")
            offers[key] = None
        else:
            refuse_unknown(c, entry, f"{w}.{key}", OFFER_KEYS)
            spec = read_field(c, {**entry, "key": key, "type": kind}, f"{w}.{key}", languages, key)
            # Without a CRM field the reason for leaving goes to the note.
            spec = replace(spec, crm_field=entry.get("crm_field", "" if key == "reason"
                                                     else spec.crm_field))
            if kind == "date":  # a pause: from tomorrow, for a year at most, unless set
                spec = replace(spec, earliest=spec.earliest or "today+1",
                               latest=spec.latest or "today+365")
            offers[key] = spec
    one_click = c.get(table, "one_click", str, w, "item")
    if one_click not in ONE_CLICK_MEANINGS:
        c.report(f"{w}.one_click", 'must be "item" (a link naming an item leaves that item) or '
                 '"all" (every one-click link leaves what "unsubscribe from all" leaves)')
        one_click = "item"
    per_hour = c.get(table, "one_click_per_address_per_hour", int, w, 600)
    if per_hour < 1:
        c.report(f"{w}.one_click_per_address_per_hour", "must be 1 or more")
        per_hour = 600
    return UnsubscribeOffers(only_some=c.get(table, "only_some", bool, w, True),
                             one_click=one_click, one_click_per_address_per_hour=per_hour,
                             **offers)


def read_audience(c: Checker, table: Any, languages: Sequence[str]) -> Audience:
    """`[portal.audience]`: who may have a sign-in link (contacts with one of `tags`)."""
    w = "portal.audience"
    if not isinstance(table, dict):
        c.report(w, "must be a table with tags")
        return Audience()
    refuse_unknown(c, table, w, (f.name for f in fields(Audience)))
    join_url = c.labels(table, "join_url", w, languages, required=False)
    for url in dict.fromkeys(join_url.values()):
        if url_problem(url, https=True):
            c.report(f"{w}.join_url", url_problem(url, https=True))
    return Audience(tags=read_tags(c, table, w), join_url=join_url,
                    tell_others=c.get(table, "tell_others", bool, w, True))


def read_public_url(c: Checker, table: Mapping[str, Any], demo: bool) -> str:
    """The address contacts reach the portal at: every link the portal sends
    is built from it, never from a request's Host or X-Forwarded-* headers."""
    url = str(c.get(table, "public_url", str, "portal", "")).rstrip("/")
    if not url:
        if not demo:
            c.report("portal.public_url", "is required outside the demo: the address contacts "
                     'reach the portal at, like "https://www.example.org/preferencias" (links '
                     "in emails are built from it)")
        return ""
    problem = url_problem(url, https=True, path_only=True) or \
        ("" if PLAIN_PATH.match(urlsplit(url).path) else "must have a plain path, like /preferencias")
    if problem:
        c.report("portal.public_url", problem)
    elif demo and not is_loopback(urlsplit(url).hostname or ""):
        c.report("portal.demo", f"the demo serves only this machine, not {urlsplit(url).hostname}: "
                 "set demo = false (and PORTAL_SECRET_KEY) to serve contacts")
    return url


def read_language_preference(c: Checker, table: Any) -> LanguagePreference:
    w = "portal.language_preference"
    if not isinstance(table, dict):
        c.report(w, "must be a table")
        return LanguagePreference("off")
    mode = c.get(table, "mode", str, w, "off")
    if mode not in ("off", "field", "tags"):
        c.report(f"{w}.mode", 'must be "field", "tags" or "off"')
        return LanguagePreference("off")
    field_name = c.get(table, "field", str, w, "", required=mode == "field")
    tags = c.get(table, "tags", dict, w, {})
    if mode == "tags":
        missing = [lang for lang in LANGUAGES if not tags.get(lang)]
        if missing:
            c.report(f"{w}.tags", f"needs a tag for {', '.join(missing)}")
    return LanguagePreference(mode, field_name, dict(tags))


def read_mail(c: Checker, table: Mapping[str, Any]) -> MailSettings:
    w = "mail"
    refuse_unknown(c, table, w, MAIL_KEYS)
    backends = tuple(c.get(table, "backends", list, w, ["console"]))
    for backend in backends:
        if backend not in ("console", "file", "smtp"):
            c.report(f"{w}.backends", f'unknown backend "{backend}" (use "console", "file" or "smtp")')
    security = c.get(table, "smtp_security", str, w, "none")
    if security not in ("none", "starttls", "ssl"):
        c.report(f"{w}.smtp_security", 'must be "none", "starttls" or "ssl"')
    return MailSettings(
        backends=backends,
        sender=c.get(table, "from", str, w, "Portal <portal@localhost>"),
        file_dir=c.get(table, "file_dir", str, w, "mail"),
        smtp_host=c.get(table, "smtp_host", str, w, "localhost"),
        smtp_port=c.get(table, "smtp_port", int, w, 25),
        smtp_security=security,
        smtp_timeout=float(c.get(table, "smtp_timeout", (int, float), w, 10.0)),
    )


def read_crms(c: Checker, table: Any, portal: PortalSettings) -> dict[str, Mapping[str, Any]]:
    if not isinstance(table, dict) or not table:
        c.report("crm", "needs at least one [crm.NAME] block with a type")
        return {}
    crms: dict[str, Mapping[str, Any]] = {}
    for name, block in table.items():
        if not isinstance(block, dict):
            c.report(f"crm.{name}", "must be a table")
            continue
        if block.get("type") not in ADAPTERS:
            c.report(f"crm.{name}.type", f"must be one of {', '.join(sorted(ADAPTERS))}")
        for key, value in block.items():
            if key.endswith(("_url", "_uri")) and url_problem(value, https=True):
                c.report(f"crm.{name}.{key}", url_problem(value, https=True))
        crms[name] = block
    for name in (portal.crm, *portal.mirrors):
        if name not in crms:
            c.report("portal.crm" if name == portal.crm else "portal.mirrors",
                     f'names a CRM "{name}" with no [crm.{name}] block')
    if portal.crm in portal.mirrors:
        c.report("portal.mirrors", "must not include the main CRM")
    return crms
