"""The state the rights' records share, built once per app: the mail outbox,
the links emailed for a right, and a thread for work done after the answer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from flask import Flask, current_app

from portal.db import database
from portal.mail import EXTENSION as MAILER
from portal.rights.records.links import RightsLinks
from portal.rights.records.outbox import Outbox

EXTENSION = "portal.rights.records"


@dataclass
class RightsRecords:
    outbox: Outbox
    links: RightsLinks
    background: ThreadPoolExecutor  # CRM look-ups the answer must not wait for (or reveal)


def build(app: Flask) -> RightsRecords:
    secret = app.config["SECRET_KEY"]
    return RightsRecords(outbox=Outbox(database(app), app.extensions[MAILER], secret),
                         links=RightsLinks(secret, database(app)),
                         background=ThreadPoolExecutor(max_workers=2,
                                                       thread_name_prefix="portal-rights"))


def rights_records(app: Flask | None = None) -> RightsRecords:
    found: RightsRecords = (app or current_app).extensions[EXTENSION]
    return found
