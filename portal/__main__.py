"""The `portal` command (and `python -m portal`): Flask's command line for
the portal app, with check-config, which runs even when the configuration
is too broken for the app to load."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from portal import create_app
from portal.commands.config import check_config


def _create_app() -> Flask:
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, load_dotenv=False)
def main() -> None:
    """The contact preference portal. The configuration comes from PORTAL_CONFIG
    (default: the demo), secrets from the environment."""


main.add_command(check_config)

if __name__ == "__main__":
    main()
