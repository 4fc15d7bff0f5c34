"""`check-config`: every problem in the configuration file, with its line.

Registered as a Flask plugin command too (pyproject entry point), so it runs
even when the configuration is too broken for the app to load."""

from __future__ import annotations

import os
from pathlib import Path

import click

from portal.config import ConfigError, load_config
from portal.shipped import DEFAULT_CONFIG


def check_config_command(path: str | None) -> int:
    target = Path(path or os.environ.get("PORTAL_CONFIG") or DEFAULT_CONFIG)
    try:
        config = load_config(target)
    except ConfigError as exc:
        click.echo(f"{exc.path}: {len(exc.problems)} problem(s)", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        return 1
    click.echo(f"{target}: OK ({len(config.fields)} fields, "
               f"{sum(len(g.items) for g in config.groups)} subscription items, "
               f"CRM \"{config.portal.crm}\")")
    return 0


@click.command("check-config")
@click.argument("path", required=False)
def check_config(path: str | None) -> None:
    """Report every problem in the configuration file, with its line."""
    raise SystemExit(check_config_command(path))
