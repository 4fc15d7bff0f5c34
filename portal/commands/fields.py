"""`portal fields`: what the configured CRM offers (fields with their types
and choices, lists or segments, tags, automations), or with --starter a
configuration to start from for the ones marketing picks."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal.commands.adapters import configured, configured_adapter
from portal.commands.starter import starter_config
from portal.config.compatibility import portal_field_keys
from portal.crm.base import BACKGROUND, Catalog, CrmError, calls_under


@click.command("fields")
@click.option("--crm", "crm_name", default=None, help="Which [crm.NAME] (default: the main CRM).")
@click.option("--starter", is_flag=True, help="Print a starter configuration instead of the list.")
@click.option("--pick", multiple=True, metavar="KEY",
              help="With --starter: only these field keys or item refs (repeat it).")
@with_appcontext
def fields_command(crm_name: str | None, starter: bool, pick: tuple[str, ...]) -> None:
    """List the fields, lists/segments, tags and automations the CRM offers."""
    config = configured()
    adapter = configured_adapter(crm_name or config.portal.crm, config)
    try:
        with calls_under(BACKGROUND):  # waits for the CRM's budget rather than fail
            catalog = adapter.describe()
            automations = adapter.automations()
    except CrmError as exc:
        raise click.ClickException(f"{exc} (run `portal doctor` for a full check)") from exc
    if starter:
        click.echo(starter_config(catalog, pick, skip=portal_field_keys(config).values()))
        return
    click.echo(f"Fields in {adapter.kind} '{adapter.name}' (key: label [CRM type -> portal type]):")
    echo_fields(catalog)
    click.echo("Subscription items (kind ref: name):")
    for item in catalog.items:
        click.echo(f"  {item.item.kind} {item.item.ref}: {item.label}")
    if catalog.tags:
        click.echo("Tags in use: " + ", ".join(catalog.tags))
    if automations:
        click.echo("Automations (id: name):")
        for ident, name in automations:
            click.echo(f"  {ident}: {name}")


def echo_fields(catalog: Catalog) -> None:
    for info in catalog.fields:
        portal_type = info.portal_type or "not supported"
        flags = " read-only" if info.read_only else ""
        click.echo(f"  {info.key}: {info.label} [{info.type} -> {portal_type}]{flags}")
        if info.choices:
            click.echo("      choices: " + ", ".join(f"{v} ({lbl})" if lbl != v else v
                                                    for v, lbl in info.choices))
