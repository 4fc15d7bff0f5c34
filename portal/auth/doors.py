"""The state the doors share, built once per app: sign-in links, newsletter
tokens, the sign-in request limits, and the threads that send links after
the answer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from flask import Flask, current_app

from portal.auth.links import SignInLinks
from portal.auth.newsletter import NewsletterTokens
from portal.auth.throttle import LinkRequestThrottle, hourly_counters
from portal.config import Config
from portal.db import database

EXTENSION = "portal.auth"


@dataclass
class Doors:
    links: SignInLinks
    register: SignInLinks  # links to the register page, for addresses that are no contact's
    newsletter: NewsletterTokens
    throttle: LinkRequestThrottle
    background: ThreadPoolExecutor  # work done after the answer (sending sign-in links)


def build(app: Flask) -> Doors:
    config: Config = app.config["PORTAL"]
    secret = app.config["SECRET_KEY"]
    return Doors(
        links=SignInLinks(secret, database(app), config.portal.link_lifetime_minutes * 60),
        register=SignInLinks(secret, database(app), config.portal.link_lifetime_minutes * 60,
                             purpose="register"),
        newsletter=NewsletterTokens(secret),
        throttle=LinkRequestThrottle(config.portal.link_requests_per_email_per_hour,
                                     config.portal.link_requests_per_address_per_hour,
                                     hourly_counters(config.portal.storage_url, database(app)),
                                     secret),
        background=ThreadPoolExecutor(max_workers=4, thread_name_prefix="portal-bg"),
    )


def doors(app: Flask | None = None) -> Doors:
    """The doors' shared state of `app` (default: the current app)."""
    found: Doors = (app or current_app).extensions[EXTENSION]
    return found


def newsletter_tokens() -> NewsletterTokens:
    return doors().newsletter
