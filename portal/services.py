"""The services a request uses, built once per app from the configuration."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

from portal.auth.links import SignInLinks
from portal.auth.newsletter import NewsletterTokens
from portal.auth.throttle import LinkRequestThrottle, hourly_counters
from portal.cache import ProfileCache, build_cache
from portal.crm import build_adapter
from portal.crm.base import CrmAdapter
from portal.crm.limiter import SharedLimiter, new_unit_of_work, rate_option
from portal.db import database
from portal.ledger import Ledger, build_ledger
from portal.mail import Mailer
from portal.queue import ChangeQueue, start_embedded_on_first_request
from portal.resilience import Resilience, resilience
from portal.settings import Config
from portal.writer import RetryPolicy, Writer


@dataclass
class Services:
    config: Config
    crm: CrmAdapter
    mailer: Mailer
    links: SignInLinks
    newsletter: NewsletterTokens
    throttle: LinkRequestThrottle
    writer: Writer
    background: ThreadPoolExecutor  # work done after the answer (sending sign-in links)
    resilience: Resilience
    profiles: ProfileCache
    ledger: Ledger
    queue: ChangeQueue
    limiter: SharedLimiter | None


def init_app(app: Flask) -> None:
    config: Config = app.config["PORTAL"]
    instance = Path(app.instance_path)
    settings = resilience(config)
    used = {name: options for name, options in config.crms.items()
            if name == config.portal.crm or name in config.portal.mirrors}
    limiter = SharedLimiter(config.portal.storage_url,
                            {name: rate_option(options) for name, options in used.items()},
                            settings.limiter_max_wait) if settings.limiter else None
    adapters = {name: build_adapter(name, {"read_timeout": settings.apply_timeout, **options,
                                           "limiter": limiter}, instance)
                for name, options in used.items()}
    crm = adapters[config.portal.crm]
    mirrors = {name: adapters[name] for name in config.portal.mirrors}
    profiles = ProfileCache(build_cache(app, settings), settings)
    queue_file = _under(instance, settings.queue_path)  # Huey's tables and the ledger's
    ledger = build_ledger(settings.queue, queue_file, settings.redis)
    queue = ChangeQueue(app, settings, ledger, queue_file)
    policy = RetryPolicy(settings.backoff_first, settings.backoff_max,
                         settings.deadline_hours * 3600)
    app.extensions["portal"] = Services(
        config=config,
        crm=crm,
        mailer=Mailer(config.mail, instance),
        links=SignInLinks(app.config["SECRET_KEY"], database(app),
                          config.portal.link_lifetime_minutes * 60),
        newsletter=NewsletterTokens(app.config["SECRET_KEY"]),
        throttle=LinkRequestThrottle(config.portal.link_requests_per_email_per_hour,
                                     config.portal.link_requests_per_address_per_hour,
                                     hourly_counters(config.portal.storage_url, database(app)),
                                     app.config["SECRET_KEY"]),
        writer=Writer(crm, mirrors, ledger=ledger, wake=queue.wake, profiles=profiles,
                      policy=policy, lease_seconds=settings.lease_seconds),
        background=ThreadPoolExecutor(max_workers=4, thread_name_prefix="portal-bg"),
        resilience=settings,
        profiles=profiles,
        ledger=ledger,
        queue=queue,
        limiter=limiter,
    )
    app.before_request(new_unit_of_work)
    if settings.embedded_worker and not app.testing:
        start_embedded_on_first_request(app, queue)


def _under(folder: Path, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else folder / path


def portal() -> Services:
    return current_app.extensions["portal"]
