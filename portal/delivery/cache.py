"""Caching what the CRM said, so page views spare it (flask-caching).

A profile is cached under the CRM's name and the contact's ref, never per
page or language, and holds CRM data only (never HTML). Each entry records
when it was fetched: within `profile_cache_seconds` it is served as is; past
that it is fetched again, and while the CRM is down the older copy (up to
`stale_profile_seconds`) still lets the contact see their page. A write
refreshes the cached profile with what it changed. Field and list
catalogs are kept for `catalog_cache_seconds`.

Backends: files under the instance folder (shared by the processes of one
machine), "simple" (one process), Redis (several machines) or none. A cache
that cannot be reached (Redis restarting) is a cache that misses: the CRM
is asked instead, and nothing fails for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask_caching import Cache

from portal.config.resilience import Resilience
from portal.crm.base import (
    Catalog,
    Change,
    Contact,
    CrmAdapter,
    CrmError,
    FieldRef,
    ItemRef,
    Profile,
    tag_plan,
)

log = logging.getLogger(__name__)

BACKENDS = {"filesystem": "FileSystemCache", "simple": "SimpleCache", "redis": "RedisCache",
            "none": "NullCache"}


def build_cache(app: Flask, settings: Resilience) -> Cache:
    config: dict[str, Any] = {
        "CACHE_TYPE": BACKENDS[settings.cache],
        "CACHE_KEY_PREFIX": "portal:",
        "CACHE_DEFAULT_TIMEOUT": settings.profile_cache_seconds,
        "CACHE_NO_NULL_WARNING": True,  # "none" is a choice (benchmarks, debugging)
    }
    if settings.cache == "filesystem":
        config["CACHE_DIR"] = str(Path(app.instance_path) / "cache")
        # One small file per contact seen lately, and no count of them: past a
        # threshold the cache lists its whole folder on every write (20,000
        # files made a write take 0.6 s). Entries expire by their timeout.
        config["CACHE_THRESHOLD"] = 0
    if settings.cache == "redis":
        config["CACHE_REDIS_URL"] = settings.redis
    return Cache(app, config=config)


def applied(profile: Profile, change: Change) -> Profile:
    """The profile as the CRM will hold it once `change` has landed."""
    values = dict(profile.values)
    for update in change.fields:
        values[update.field.crm_field] = update.value
    add_tags, remove_tags = tag_plan(change)  # as every adapter applies them
    subscribed = set(profile.subscribed)
    subscribed |= {i for i in change.join if i.kind != "tag"} | {ItemRef("tag", t) for t in add_tags}
    subscribed -= {i for i in change.leave if i.kind != "tag"} | \
        {ItemRef("tag", t) for t in remove_tags}
    opted_out = profile.opted_out_all if change.unsubscribe_all is None else change.unsubscribe_all
    return replace(profile, values=values, subscribed=frozenset(subscribed),
                   opted_out_all=opted_out)


def _digest(fields: Sequence[FieldRef], items: Sequence[ItemRef]) -> str:
    """Which fields and items a cached profile answers for: a changed
    configuration must not be served an older shape."""
    text = json.dumps([[f.crm_field, f.type] for f in fields] +
                      [[i.kind, i.ref, i.value] for i in items])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _dump(profile: Profile, digest: str, fetched: float | None = None) -> str:
    contact = profile.contact
    return json.dumps({
        "fetched": time.time() if fetched is None else fetched, "digest": digest,
        "contact": {"ref": contact.ref, "email": contact.email, "name": contact.name,
                    "modified": contact.modified.isoformat() if contact.modified else None},
        "values": profile.values,
        "subscribed": sorted([i.kind, i.ref, i.value] for i in profile.subscribed),
        "opted_out_all": profile.opted_out_all,
    }, ensure_ascii=False)


def _load(text: str) -> tuple[Profile, float, str]:
    raw = json.loads(text)
    c = raw["contact"]
    contact = Contact(c["ref"], c["email"], datetime.fromisoformat(c["modified"])
                      if c["modified"] else None, c["name"])
    profile = Profile(contact, raw["values"], frozenset(ItemRef(*i) for i in raw["subscribed"]),
                      raw["opted_out_all"])
    return profile, raw["fetched"], raw["digest"]


class _Forgiving:
    """The cache's get and set; a backend that fails misses and keeps nothing."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def get(self, key: str) -> Any:
        try:
            return self.cache.get(key)
        except Exception as exc:  # cachelib's Redis lets the client's errors through
            log.warning("The cache could not be read (%s): asking the CRM.", exc)
            return None

    def set(self, key: str, value: Any, timeout: int) -> None:
        try:
            self.cache.set(key, value, timeout=timeout)
        except Exception as exc:
            log.warning("The cache could not be written (%s).", exc)

    def delete(self, key: str) -> None:
        try:
            self.cache.delete(key)
        except Exception as exc:
            log.warning("The cache could not forget %s (%s).", key, exc)


class ProfileCache:
    def __init__(self, cache: Cache, settings: Resilience) -> None:
        self.cache = _Forgiving(cache)
        self.fresh_for = settings.profile_cache_seconds
        self.keep_for = max(settings.stale_profile_seconds, settings.profile_cache_seconds)
        self.catalog_for = settings.catalog_cache_seconds
        self.enabled = settings.cache != "none"

    @staticmethod
    def _key(crm: str, contact_ref: str) -> str:
        return f"profile:{crm}:{contact_ref}"

    def read(self, crm: CrmAdapter, contact: Contact, fields: Sequence[FieldRef],
             items: Sequence[ItemRef], *, fresh: bool = False) -> Profile:
        """The contact's profile: cached if fresh, else from the CRM; the older
        copy when the CRM cannot answer (else the CRM's error). `fresh`: from
        the CRM whatever the cache holds (a check that must see the CRM now),
        kept for the pages that follow."""
        digest = _digest(fields, items)
        key = self._key(crm.name, contact.ref)
        cached = self.cache.get(key) if self.enabled else None
        old = _load(cached) if cached else None
        if old and old[2] == digest and time.time() - old[1] < self.fresh_for and not fresh:
            return old[0]
        try:
            profile = crm.read_profile(contact, fields, items)
        except CrmError as exc:
            if old and old[2] == digest and exc.transient:
                return old[0]
            raise
        if self.enabled:
            self.cache.set(key, _dump(profile, digest), timeout=self.keep_for)
        return profile

    def refresh(self, crm: str, change: Change) -> None:
        """Fold a change that reached the CRM into its cached profile."""
        if not self.enabled:
            return
        key = self._key(crm, change.contact_ref)
        cached = self.cache.get(key)
        if cached:
            profile, fetched, digest = _load(cached)
            # Only the change is new: the rest is as old as it was.
            self.cache.set(key, _dump(applied(profile, change), digest, fetched),
                           timeout=self.keep_for)

    def forget(self, crm: str, contact_ref: str) -> None:
        """Drop a contact's cached profile (their address changed, or they
        asked to be forgotten)."""
        if self.enabled:
            self.cache.delete(self._key(crm, contact_ref))

    def catalog(self, crm: CrmAdapter) -> Catalog:
        """The CRM's fields, lists and tags, kept for `catalog_cache_seconds`;
        the older copy while the CRM cannot answer (as long as a stale profile)."""
        key = f"catalog:{crm.name}"
        found: tuple[float, Catalog] | None = self.cache.get(key) if self.enabled else None
        if found is not None and time.time() - found[0] < self.catalog_for:
            return found[1]
        try:
            catalog = crm.describe()
        except CrmError as exc:
            if found is not None and exc.transient:
                return found[1]
            raise
        if self.enabled:
            self.cache.set(key, (time.time(), catalog),
                           timeout=max(self.catalog_for, self.keep_for))
        return catalog

    def forget_catalog(self, crm: CrmAdapter) -> None:
        """Drop the kept catalogue: the next read asks the CRM (the workspace's "refresh")."""
        self.cache.delete(f"catalog:{crm.name}")
