"""The road from a contact's Change to the CRM, and back: the adapters with
their shared limiter, the writer, the ledger of changes not yet in the CRM,
the queue that delivers them, the profile cache, and the reader pages call.

What must be shared by every worker of every machine lives in the portal's
database: the ledger, the OAuth tokens and (unless `storage_url` names a
Redis) the limiter's counters. Redis, when configured, holds only what may
be lost: queue wake-ups, cached profiles, counters.

`init_app(app)` builds them once from the configuration; `delivery()` gives
them to a request or a command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app
from limits.storage import Storage

from portal.config import Config
from portal.config.resilience import Resilience
from portal.crm import build_adapters
from portal.crm.base import CrmAdapter, new_unit_of_work
from portal.crm.oauth import TokenStores
from portal.db import database
from portal.delivery.cache import ProfileCache, build_cache
from portal.delivery.earlier_ledger import adopt_earlier_entries
from portal.delivery.ledger import Ledger
from portal.delivery.oauth_tokens import database_token_stores
from portal.delivery.queue import ChangeQueue, start_with_requests
from portal.delivery.request_window import request_window
from portal.delivery.writer import RetryPolicy, Writer

EXTENSION = "portal.delivery"


@dataclass
class Delivery:
    crm: CrmAdapter
    mirrors: dict[str, CrmAdapter]
    writer: Writer
    profiles: ProfileCache
    ledger: Ledger
    queue: ChangeQueue
    settings: Resilience


@dataclass(frozen=True)
class Shared:
    """What the adapters of every worker and machine share: the limiter's
    counters and the OAuth tokens."""

    counters: Storage
    token_stores: TokenStores


def shared(app: Flask) -> Shared:
    config: Config = app.config["PORTAL"]
    db = database(app)
    return Shared(request_window(config.portal.storage_url, db),
                  database_token_stores(db, app.config["SECRET_KEY"], Path(app.instance_path)))


def init_app(app: Flask) -> None:
    config: Config = app.config["PORTAL"]
    instance = Path(app.instance_path)
    settings = config.resilience
    used = {name: options for name, options in config.crms.items()
            if name == config.portal.crm or name in config.portal.mirrors}
    sharing = shared(app)
    adapters = build_adapters(used, instance, storage_url=sharing.counters,
                              token_stores=sharing.token_stores, limit=settings.limiter,
                              max_wait=settings.limiter_max_wait,
                              read_timeout=settings.apply_timeout)
    crm = adapters[config.portal.crm]
    mirrors = {name: adapters[name] for name in config.portal.mirrors}
    profiles = ProfileCache(build_cache(app, settings), settings)
    ledger = Ledger(database(app), app.config["SECRET_KEY"])
    queue_file = _under(instance, settings.queue_path)
    adopted = adopt_earlier_entries(ledger, queue_file,
                                    settings.redis if settings.queue == "redis" else "")
    database(app).dispose()  # no connection of the start-up survives into forked workers
    queue = ChangeQueue(app, settings, ledger, queue_file,
                        deliver=lambda entry_id: delivery(app).writer.deliver(entry_id))
    for entry in adopted:
        queue.wake(entry.id, entry.next_try)
    policy = RetryPolicy(settings.backoff_first, settings.backoff_max,
                         settings.deadline_hours * 3600)
    writer = Writer(crm, mirrors, ledger=ledger, wake=queue.wake, profiles=profiles,
                    policy=policy, lease_seconds=settings.lease_seconds)
    app.extensions[EXTENSION] = Delivery(crm, mirrors, writer, profiles, ledger, queue, settings)
    app.before_request(new_unit_of_work)
    if not app.testing:
        start_with_requests(app, queue, settings.embedded_worker)


def _under(folder: Path, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else folder / path


def delivery(app: Flask | None = None) -> Delivery:
    """The delivery parts of `app` (default: the current app)."""
    found: Delivery = (app or current_app).extensions[EXTENSION]
    return found
