"""What the rights' pages share, built once per app: the hourly counters
that limit downloads of a contact's data (in the portal's database, or
Redis when `[portal] storage_url` names one, like the sign-in limits)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from portal.auth.throttle import HourlyCounters, hourly_counters
from portal.db import database

EXTENSION = "portal.rights"


@dataclass
class RightsState:
    counters: HourlyCounters


def build(app: Flask) -> RightsState:
    return RightsState(hourly_counters(app.config["PORTAL"].portal.storage_url, database(app)))


def rights_state() -> RightsState:
    found: RightsState = current_app.extensions[EXTENSION]
    return found
