"""`portal queue`: what is waiting to reach a CRM, what failed and why."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from portal.delivery import delivery
from portal.delivery.ledger import FAILED, PENDING, Entry, retried

queue = AppGroup("queue", help="Changes waiting for a CRM: list, retry, drop.")


def _when(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _line(entry: Entry) -> str:
    change = entry.change
    what = [f"{len(change.fields)} field(s)"] if change.fields else []
    if change.join or change.leave:
        what.append(f"+{len(change.join)}/-{len(change.leave)} item(s)")
    if change.notes:
        what.append(f"{len(change.notes)} note(s)")
    status = entry.status.upper()
    if entry.status == PENDING:
        wait = entry.next_try - time.time()
        status += f", next try {'now' if wait <= 0 else f'in {wait:.0f}s'}"
    text = (f"{entry.id}  {status}  {change.email}  saved {_when(entry.created)}  "
            f"attempts {entry.attempts}  {', '.join(what) or 'no data'}")
    if entry.last_error:
        text += f"\n    why: {entry.last_error}"
    return text


@queue.command("list")
@click.option("--failed", "only_failed", is_flag=True, help="Only the failed entries.")
def list_entries(only_failed: bool) -> None:
    """Every change not yet in its CRM, oldest first."""
    entries = [e for e in delivery().ledger.entries() if not only_failed or e.status == FAILED]
    for entry in entries:
        click.echo(_line(entry))
    pending = sum(e.status == PENDING for e in entries)
    click.echo(f"{pending} pending, {len(entries) - pending} failed.")


def _chosen(ids: tuple[str, ...], all_failed: bool) -> list[Entry]:
    ledger = delivery().ledger
    if all_failed:
        return [e for e in ledger.entries() if e.status == FAILED]
    found = []
    for entry_id in ids:
        entry = ledger.get(entry_id)
        if entry is None:
            raise click.ClickException(f"No entry {entry_id} (see `portal queue list`).")
        found.append(entry)
    return found


@queue.command("retry")
@click.argument("ids", nargs=-1)
@click.option("--all-failed", is_flag=True, help="Retry every failed entry.")
def retry(ids: tuple[str, ...], all_failed: bool) -> None:
    """Try entries again now, with a fresh deadline."""
    parts = delivery()
    deadline = parts.settings.deadline_hours * 3600
    for entry in _chosen(ids, all_failed):
        parts.ledger.save(retried(entry, deadline))
        parts.queue.wake(entry.id, time.time())
        click.echo(f"{entry.id}: queued again.")


@queue.command("drop")
@click.argument("ids", nargs=-1, required=True)
@click.confirmation_option(prompt="The dropped changes will never reach the CRM. Drop them?")
def drop(ids: tuple[str, ...]) -> None:
    """Forget entries for good (the change is lost: the contact must save again)."""
    ledger = delivery().ledger
    for entry in _chosen(ids, False):
        ledger.remove([entry.id])
        click.echo(f"{entry.id}: dropped ({entry.change.email}, saved {_when(entry.created)}).")
