"""`portal tokens issue`: newsletter "manage my preferences" tokens, written into
the CRM for the contacts named on the command line or in a file (such as the
CRM's own contact export), so that a campaign's merge tag has a value for
every recipient, not only for those who have visited.

A long run yields to contacts: its CRM calls count as background work for
the outbound limiter, and when the CRM's budget is spent it waits and goes
on with the same address.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterable, Iterator
from typing import TextIO

import click
from flask import current_app
from flask.cli import AppGroup

from portal.auth.newsletter_field import issue_token, stored_token, token_field
from portal.config import current
from portal.crm.base import BACKGROUND, CrmAdapter, CrmError, CrmRateLimited, calls_under
from portal.delivery import delivery
from portal.delivery.writer import Outcome
from portal.hosting.urls import external_url, public_root

# Column names that hold the address in the CRMs' contact exports.
EMAIL_COLUMNS = ("email", "e-mail", "email address", "correo", "correo electrónico",
                 "helbide elektronikoa", "emailaddress")

tokens = AppGroup("tokens", help="Newsletter \"manage my preferences\" links.")


def emails_in(stream: TextIO) -> Iterator[str]:
    """The addresses in a file: one a line, or a CSV export with a header that
    names the email column (comma, semicolon or tab separated)."""
    lines = [line for line in stream.read().splitlines() if line.strip()]
    if not lines:
        return
    delimiter = next((d for d in (",", ";", "\t") if d in lines[0]), None)
    if delimiter is None:
        yield from (line.strip() for line in lines if "@" in line)
        return
    yield from _csv_emails(lines, delimiter)


def _csv_emails(lines: list[str], delimiter: str) -> Iterator[str]:
    rows = csv.reader(lines, delimiter=delimiter)
    column = _email_column([name.strip().lower() for name in next(rows)])
    for row in rows:
        if column < len(row) and row[column].strip():
            yield row[column].strip()


def _email_column(header: list[str]) -> int:
    column = next((header.index(n) for n in EMAIL_COLUMNS if n in header), None)
    if column is None:
        raise click.ClickException(
            f"No email column in the file's header ({', '.join(header)}); name it \"email\".")
    return column


@tokens.command("issue")
@click.argument("emails", nargs=-1)
@click.option("--from-file", "from_file", type=click.File("r", encoding="utf-8-sig"),
              help="Also the addresses in this file (\"-\" reads them from the input).")
@click.option("--replace", is_flag=True, help="Replace existing tokens: their links stop working.")
@click.option("--item", "item", default=None, metavar="KEY",
              help="Print the one-click unsubscribe headers for this item (its key) only.")
def issue_tokens(emails: tuple[str, ...], from_file: TextIO | None, replace: bool,
                 item: str | None) -> None:
    """Write a newsletter token into the CRM for each contact and print its
    link and the List-Unsubscribe headers of its one-click unsubscribe."""
    crm = delivery().crm
    if token_field() is None:
        raise click.ClickException("Set [portal] newsletter_token_field first.")
    if item is not None and item not in {spec.key for spec in current().items()}:
        raise click.ClickException(f"No item has the key {item!r}: see [[groups.items]] key.")
    addresses: Iterable[str] = emails + tuple(emails_in(from_file)) if from_file else emails
    addresses = list(dict.fromkeys(a.strip() for a in addresses if a.strip()))
    if not addresses:
        raise click.ClickException("Name at least one address, or a file with --from-file.")
    counts = {"issued": 0, "kept": 0, "missing": 0, "failed": 0}
    for email in addresses:
        outcome = _issue_one(crm, email, replace, item)
        counts[outcome] += 1
    click.echo(f"{counts['issued']} issued, {counts['kept']} already had one, "
               f"{counts['missing']} not found, {counts['failed']} failed.", err=True)
    if counts["failed"]:
        raise SystemExit(1)


def _issue_one(crm: CrmAdapter, email: str, replace: bool, item: str | None) -> str:
    while True:
        try:
            with calls_under(BACKGROUND):
                return _write_token(crm, email, replace, item)
        except CrmRateLimited as exc:
            # The CRM's budget is spent for now: wait for it, keep the place.
            time.sleep(exc.retry_after or 1.0)
        except CrmError as exc:
            click.echo(f"{email}: {exc}", err=True)
            return "failed"


def _write_token(crm: CrmAdapter, email: str, replace: bool, item: str | None) -> str:
    contact = crm.find_contact(email)
    if contact is None:
        click.echo(f"{email}: no such contact", err=True)
        return "missing"
    _, token = stored_token(contact)  # keep the contact as found: it has the name
    outcome = "kept"
    if token is None or replace:
        token, result = issue_token(contact)
        if result.outcome not in (Outcome.APPLIED, Outcome.QUEUED):
            # Refused by the CRM, or neither applied nor kept: no working link.
            raise result.error or CrmError("The token could be neither written nor kept.")
        outcome = "issued"
    with current_app.test_request_context(base_url=public_root()):
        click.echo(f"{email}: {external_url('auth.newsletter_link', token=token)}")
        for name, value in list_unsubscribe_headers(token, item):
            click.echo(f"  {name}: {value}")
    return outcome


def list_unsubscribe_headers(token: str, item: str | None = None) -> list[tuple[str, str]]:
    """The headers a campaign's message carries for a one-click unsubscribe
    (RFC 8058), for one item or, without `item`, for all."""
    url = external_url("one_click.unsubscribe", token=token, item=item) if item else \
        external_url("one_click.unsubscribe", token=token)
    return [("List-Unsubscribe", f"<{url}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]
