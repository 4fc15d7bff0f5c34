"""Every command of the portal's command line, one module per group,
registered here explicitly: `portal` (or `flask --app wsgi`) followed by
demo, fields, doctor, crm, queue, tokens, consent, db or layout; check-config is added by
portal.__main__ and as a Flask plugin command, as it must run when the app
cannot load."""

from __future__ import annotations

import click
from flask import Flask

from portal.commands import authorize, consent, demo, doctor, fields, layout, queue, tokens
from portal.db.cli import db_commands

GROUPS: tuple[click.Command, ...] = (
    demo.demo, fields.fields_command, doctor.doctor_command, authorize.crm_group, queue.queue,
    tokens.tokens, db_commands, layout.layout, consent.consent,
)


def init_app(app: Flask) -> None:
    for command in GROUPS:
        app.cli.add_command(command)
