"""`portal layout export` and `portal layout import FILE`: move what
contacts see between environments (staging to production) as the
configuration file's `[[fields]]`, `[[groups]]` and `[page]` tables."""

from __future__ import annotations

import tomllib
from pathlib import Path

import click
from flask.cli import AppGroup

from portal.config.layout import LAYOUT_KEYS
from portal.staff.document import applied, check, document_of, to_toml
from portal.staff.workspace import newest_document, workspace

layout = AppGroup("layout", help="What contacts see: the published fields, groups and page texts.")


@layout.command("export")
@click.option("--version", "version_id", type=int, default=None,
              help="A version from the history (default: the one contacts see).")
def export_command(version_id: int | None) -> None:
    """Print a published layout as TOML."""
    if version_id is None:
        _id, document = newest_document()
    else:
        found = workspace().store.version(version_id)
        if found is None:
            raise click.ClickException(f"There is no version {version_id}.")
        document = found.document
    click.echo(to_toml(document), nl=False)


@layout.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--note", default="", help="Shown in the history (default: the file's name).")
def import_command(path: Path, note: str) -> None:
    """Publish the layout in a TOML file as the newest version, after the
    same checks as check-config; other tables in the file are ignored."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise click.ClickException(f"{path}: cannot read it as TOML: {exc}") from exc
    space = workspace()
    tables = {key: raw[key] for key in LAYOUT_KEYS if key in raw}
    if "fields" not in tables and "groups" not in tables:
        raise click.ClickException(f"{path} has no [[fields]] and no [[groups]].")
    layout_found, problems = check(tables, space.file_config.portal.languages)
    if problems:
        click.echo(f"{path}: {len(problems)} problem(s); nothing was published", err=True)
        for where, message in problems:
            click.echo(f"  - {where}: {message}", err=True)
        raise SystemExit(1)
    canonical = document_of(applied(space.file_config, layout_found))
    version = space.store.publish(canonical, note or f"import of {path.name}", "portal layout import",
                                  base_version=None)
    click.echo(f"Published {path} as version {version}; contacts see it within a few seconds.")
