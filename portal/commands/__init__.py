"""Every command of the portal's command line, one module per group,
registered here explicitly: `portal` (or `flask --app wsgi`) followed by
check-config, demo, fields, doctor, crm, queue or tokens."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from portal.commands import authorize, crm, demo, queue, tokens
from portal.commands.config import check_config

GROUPS: tuple[click.Command, ...] = (
    demo.demo, crm.fields_command, crm.doctor_command, authorize.crm_group, queue.queue,
    tokens.tokens,
)


def init_app(app: Flask) -> None:
    for command in GROUPS:
        app.cli.add_command(command)


def _create_app() -> Flask:
    from portal import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True,
             load_dotenv=False)
def main() -> None:
    """The contact preference portal. The configuration comes from PORTAL_CONFIG
    (default: the demo), secrets from the environment."""


main.add_command(check_config)
