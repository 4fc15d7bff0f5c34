"""The road from a contact's Change to the CRM, and back: the adapters with
their shared limiter, the writer, the ledger of changes not yet in the CRM,
the queue that delivers them, the profile cache, and the reader pages call.

`init_app(app)` builds them once from the configuration; `delivery()` gives
them to a request or a command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

from portal.config import Config
from portal.config.resilience import Resilience
from portal.crm import build_adapters
from portal.crm.base import CrmAdapter, new_unit_of_work
from portal.delivery.cache import ProfileCache, build_cache
from portal.delivery.ledger import Ledger, build_ledger
from portal.delivery.queue import ChangeQueue, start_embedded_on_first_request
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


def init_app(app: Flask) -> None:
    config: Config = app.config["PORTAL"]
    instance = Path(app.instance_path)
    settings = config.resilience
    used = {name: options for name, options in config.crms.items()
            if name == config.portal.crm or name in config.portal.mirrors}
    adapters = build_adapters(used, instance, storage_url=config.portal.storage_url,
                              limit=settings.limiter, max_wait=settings.limiter_max_wait,
                              read_timeout=settings.apply_timeout)
    crm = adapters[config.portal.crm]
    mirrors = {name: adapters[name] for name in config.portal.mirrors}
    profiles = ProfileCache(build_cache(app, settings), settings)
    queue_file = _under(instance, settings.queue_path)  # Huey's tables and the ledger's
    ledger = build_ledger(settings.queue, queue_file, settings.redis)
    queue = ChangeQueue(app, settings, ledger, queue_file,
                        deliver=lambda entry_id: delivery(app).writer.deliver(entry_id))
    policy = RetryPolicy(settings.backoff_first, settings.backoff_max,
                         settings.deadline_hours * 3600)
    writer = Writer(crm, mirrors, ledger=ledger, wake=queue.wake, profiles=profiles,
                    policy=policy, lease_seconds=settings.lease_seconds)
    app.extensions[EXTENSION] = Delivery(crm, mirrors, writer, profiles, ledger, queue, settings)
    app.before_request(new_unit_of_work)
    if settings.embedded_worker and not app.testing:
        start_embedded_on_first_request(app, queue)


def _under(folder: Path, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else folder / path


def delivery(app: Flask | None = None) -> Delivery:
    """The delivery parts of `app` (default: the current app)."""
    found: Delivery = (app or current_app).extensions[EXTENSION]
    return found
