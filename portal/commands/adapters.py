"""The CRM adapters the set-up commands use: built from the configuration
like the running portal's, with the same outbound limiter, so a check never
draws a 429 from the CRM, and the same OAuth tokens."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app

from portal.config import Config, current, load_config
from portal.crm import build_adapters
from portal.crm.base import CrmAdapter, CrmError
from portal.delivery import EXTENSION, shared
from portal.shipped import DEFAULT_CONFIG


def configured() -> Config:
    """The app's configuration (with the published layout), or the file's
    when the app could not load."""
    if current_app.config.get("PORTAL") is not None:
        return current()
    return load_config(os.environ.get("PORTAL_CONFIG") or DEFAULT_CONFIG)


def configured_adapter(name: str, config: Config) -> CrmAdapter:
    """The adapter of `[crm.NAME]`, or a command-line error that says what is wrong."""
    if name not in config.crms:
        known = ", ".join(sorted(config.crms)) or "none"
        raise click.ClickException(f"No [crm.{name}] in the configuration (there is: {known}).")
    blocks, folder = {name: config.crms[name]}, Path(current_app.instance_path)
    try:
        if EXTENSION not in current_app.extensions:  # the app did not load
            return build_adapters(blocks, folder, storage_url=config.portal.storage_url,
                                  limit=config.resilience.limiter)[name]
        sharing = shared(current_app)  # what the running portal's workers share
        return build_adapters(blocks, folder, storage_url=sharing.counters,
                              token_stores=sharing.token_stores,
                              limit=config.resilience.limiter)[name]
    except CrmError as exc:
        raise click.ClickException(str(exc)) from exc
