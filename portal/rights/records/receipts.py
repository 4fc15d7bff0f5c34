"""The email the contact gets after every change: what changed (labels as
marketing wrote them, old and new values, items joined and left), when and
through which door, a link to the portal and a "this was not me" link.
Sent by the portal itself through the outbox: a mail server that is down
delays it, and nothing about it can fail the save."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import render_template
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from sqlalchemy import Connection

from portal.config import Config
from portal.crm.base import Contact
from portal.db.keys import new_token
from portal.hosting.urls import external_url
from portal.i18n import LANGUAGE_NAMES, text_for
from portal.mail import Draft
from portal.rights.records.history import door_label
from portal.rights.records.links import NOT_ME
from portal.rights.records.parts import rights_records
from portal.rights.records.summary import ShowValue, Summary


@dataclass(frozen=True)
class ReceiptLines:
    fields: list[tuple[str, str, str]]  # label, old, new
    joined: list[str]
    left: list[str]
    languages: tuple[str, str] | None
    unsubscribed_all: bool


def lines_of(summary: Summary, show: ShowValue, language: str) -> ReceiptLines:
    """The summary as the contact reads it (call under their locale)."""
    def names(codes: tuple[str, ...]) -> str:
        return ", ".join(LANGUAGE_NAMES.get(code, code) for code in codes) or "—"

    return ReceiptLines(
        fields=[(text_for(spec.label, language), show(spec, old), show(spec, new))
                for spec, old, new in summary.fields],
        joined=[text_for(item.label, language) for item in summary.joined],
        left=[text_for(item.label, language) for item in summary.left],
        languages=(names(summary.languages[0]), names(summary.languages[1]))
        if summary.languages else None,
        unsubscribed_all=summary.unsubscribed_all)


@dataclass(frozen=True)
class Receipt:
    """A receipt written and not yet kept: its "not me" link and the
    message go into the transaction that keeps the change's records."""

    contact_ref: str
    change_id: str
    token: str
    lifetime: timedelta
    draft: Draft

    def keep(self, db: Connection) -> Callable[[], None]:
        """Keep the link and the message in `db`; returns what sends it once
        `db` is committed."""
        records = rights_records()
        records.links.keep(db, self.token, NOT_ME, self.contact_ref, self.lifetime,
                           change_id=self.change_id)
        return records.outbox.keep(db, self.draft, "receipt", self.contact_ref)


def write_receipt(config: Config, contact: Contact, change_id: str, summary: Summary, door: str,
                  language: str, at: datetime, show: ShowValue) -> Receipt:
    token = new_token()
    site = config.portal.name
    with force_locale(language):
        values = {"site": site, "lines": lines_of(summary, show, language),
                  "when": format_datetime(at, "long"), "door": door_label(door),
                  "portal_link": external_url("auth.start"),
                  "not_me_link": external_url("rights.link_page", kind="not-me", token=token),
                  "days": config.rights.not_me_days, "language": language}
        draft = Draft(
            to=contact.email, subject=_("Your changes at %(site)s", site=site),
            text=render_template("emails/receipt.txt", **values),
            html=render_template("emails/receipt.html", **values), language=language)
    return Receipt(contact.ref, change_id, token, timedelta(days=config.rights.not_me_days), draft)
