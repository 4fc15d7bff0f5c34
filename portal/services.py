"""The services a request uses, built once per app from the configuration."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

from portal.auth.links import SignInLinks
from portal.auth.newsletter import NewsletterTokens
from portal.auth.throttle import LinkRequestThrottle
from portal.crm import build_adapter
from portal.crm.base import CrmAdapter
from portal.mail import Mailer
from portal.settings import Config
from portal.writer import Writer


@dataclass
class Services:
    config: Config
    crm: CrmAdapter
    mirrors: dict[str, CrmAdapter]
    mailer: Mailer
    links: SignInLinks
    newsletter: NewsletterTokens
    throttle: LinkRequestThrottle
    writer: Writer
    background: ThreadPoolExecutor  # work done after the answer (sending sign-in links)


def init_app(app: Flask) -> None:
    config: Config = app.config["PORTAL"]
    instance = Path(app.instance_path)
    adapters = {name: build_adapter(name, options, instance)
                for name, options in config.crms.items()
                if name == config.portal.crm or name in config.portal.mirrors}
    crm = adapters[config.portal.crm]
    mirrors = {name: adapters[name] for name in config.portal.mirrors}
    app.extensions["portal"] = Services(
        config=config,
        crm=crm,
        mirrors=mirrors,
        mailer=Mailer(config.mail, instance),
        links=SignInLinks(app.config["SECRET_KEY"], instance / "portal-state.sqlite3",
                          config.portal.link_lifetime_minutes * 60),
        newsletter=NewsletterTokens(app.config["SECRET_KEY"]),
        throttle=LinkRequestThrottle(config.portal.link_requests_per_email_per_hour,
                                     config.portal.link_requests_per_address_per_hour,
                                     config.portal.storage_url),
        writer=Writer(crm, mirrors),
        background=ThreadPoolExecutor(max_workers=4, thread_name_prefix="portal-bg"),
    )


def portal() -> Services:
    return current_app.extensions["portal"]
