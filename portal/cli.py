"""Command-line tools: `flask demo seed`, `flask check-config`, and the
registration of the token, CRM and queue commands."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

# Imported for their configuration sections, so check-config knows them without the app.
from portal import embed, proxy, theme  # noqa: F401
from portal.auth import wordpress  # noqa: F401
from portal.crm.authorize_cli import register_authorize_command
from portal.crm.local import LocalCrm
from portal.crm_cli import register_crm_commands
from portal.db.cli import db_commands
from portal.queue_cli import register_queue_commands
from portal.services import portal
from portal.settings import ConfigError, load_config
from portal.tokens_cli import tokens

demo = AppGroup("demo", help="The demo on the embedded CRM.")


@demo.command("seed")
def seed_demo() -> None:
    """Fill the embedded demo CRM with its fields, lists and contacts."""
    from portal.demo import seed

    crm = portal().crm
    if not isinstance(crm, LocalCrm):
        raise click.ClickException("The demo seeds only the embedded CRM (type = \"local\").")
    created = seed(crm)
    click.echo(f"Demo CRM ready at {crm.path}" + (f"; added {', '.join(created)}" if created else ""))
    click.echo("Sign in as demo@example.org: the sign-in link is printed here and saved as "
               ".eml in the instance folder.")


def check_config_command(path: str | None) -> int:
    target = Path(path or os.environ.get("PORTAL_CONFIG") or "config/demo.toml")
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
    """Report every problem in the configuration file, with its line.

    Registered as a Flask plugin command (pyproject entry point), so it runs
    even when the configuration is too broken for the app to load."""
    raise SystemExit(check_config_command(path))


def init_app(app: Flask) -> None:
    register_crm_commands(app)  # flask fields, flask doctor
    register_authorize_command(app)  # flask crm authorize NAME
    register_queue_commands(app)  # flask queue
    app.cli.add_command(demo)
    app.cli.add_command(tokens)
    app.cli.add_command(db_commands)  # flask db upgrade
