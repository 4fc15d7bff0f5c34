"""The way out: "unsubscribe from all" with what marketing offers instead
(fewer emails, a pause, only some items), an optional "why are you
leaving?", a confirmation that says what happens next, and an undo for as
long as the session lasts."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from portal.auth.session import login_required
from portal.config import Config, FieldSpec, ItemSpec, current
from portal.crm.base import Change, CrmError, Profile
from portal.delivery.writer import Outcome
from portal.fields.dates import long_date
from portal.i18n import current_language, text_for
from portal.profile.changes import (
    Leaving,
    field_change,
    kept_mailings,
    reached_by_unsubscribe_all,
    undo_unsubscribe_all_change,
    unsubscribe_all_change,
)
from portal.profile.form import leave_form, offer_form
from portal.profile.views import _read, _who, not_saved, submit_from
from portal.rights.records.history import UNSUBSCRIBED_ALL

log = logging.getLogger(__name__)
bp = Blueprint("leaving", __name__, url_prefix="/profile")
UNDO = "undo_unsubscribe_all"  # the session's note of what the last "unsubscribe from all" left


@bp.get("/unsubscribe-all")
@login_required
def confirm() -> str | tuple[str, int]:
    profile = _profile_or_none()
    if profile is None:
        return render_template("errors/crm_unavailable.html"), 503
    return render_template("profile/unsubscribe_all.html", **_page(profile))


@bp.post("/unsubscribe-all")
@login_required
def unsubscribe_all() -> str | Response | tuple[str, int]:
    profile = _profile_or_none()
    if profile is None:
        return render_template("errors/crm_unavailable.html"), 503
    form = leave_form(current(), current_language())
    if not form.validate_on_submit():
        return render_template("profile/unsubscribe_all.html", **_page(profile, leave=form)), 400
    config = current()
    leaving = Leaving(reason=form.data.get("reason") or "", comment=form.data.get("comment") or "")
    change = unsubscribe_all_change(config, _who().contact, profile, leaving)
    outcome = _submit(change, profile, UNSUBSCRIBED_ALL)
    if isinstance(outcome, tuple):
        return outcome
    session[UNDO] = {
        "items": [item.key for item in config.items() if item.item in change.leave],
        "kept": [item.key for item in kept_mailings(config) if item.item in profile.subscribed],
        "lift": bool(change.unsubscribe_all) and not profile.opted_out_all,
        "queued": outcome is Outcome.QUEUED}
    return redirect(url_for("leaving.done"))


@bp.post("/unsubscribe-all/<offer>")
@login_required
def take_offer(offer: str) -> str | Response | tuple[str, int]:
    """Fewer emails or a pause instead of leaving: one field, saved at once."""
    spec = _offers(current()).get(offer)
    if spec is None:
        abort(404)
    profile = _profile_or_none()
    if profile is None:
        return render_template("errors/crm_unavailable.html"), 503
    form = offer_form(spec, profile.values, current_language())
    if not form.validate_on_submit():
        return render_template("profile/unsubscribe_all.html",
                               **_page(profile, **{offer: form})), 400
    value = form[spec.key].data
    change = field_change(current(), _who().contact, profile, spec, value)
    if not change.is_empty():
        outcome = _submit(change, profile)
        if isinstance(outcome, tuple):
            return outcome
    if offer == "pause":
        flash(_("Done: we will not email you until %(date)s. After that, your emails start "
                "again as before.", date=long_date(value)), "success")
    else:
        chosen = {c.value: text_for(c.label) for c in spec.choices}.get(value, value)
        flash(_("Done. How often we email you from now on: %(frequency)s.", frequency=chosen),
              "success")
    return redirect(url_for("profile.show"))


@bp.get("/unsubscribed")
@login_required
def done() -> str:
    """What happens next, and the undo while this session lasts."""
    noted = session.get(UNDO) or {}

    def named(key: str) -> list[str]:
        return _labels([item for item in current().items() if item.key in noted.get(key, ())])

    return render_template("profile/unsubscribed.html", left=named("items"), kept=named("kept"),
                           queued=noted.get("queued", False), can_undo=bool(noted))


@bp.post("/unsubscribed/undo")
@login_required
def undo() -> str | Response | tuple[str, int]:
    if not FlaskForm().validate_on_submit():
        abort(400)
    noted = session.get(UNDO)
    if not noted:
        return redirect(url_for("profile.show"))
    profile = _profile_or_none()
    if profile is None:
        return render_template("errors/crm_unavailable.html"), 503
    change = undo_unsubscribe_all_change(current(), _who().contact, profile, noted["items"],
                                         noted["lift"])
    outcome = _submit(change, profile)
    if isinstance(outcome, tuple):
        return outcome
    session.pop(UNDO, None)
    flash(_("Welcome back: your subscriptions are as they were before."), "success")
    return redirect(url_for("profile.show"))


# --- helpers ---------------------------------------------------------------------


def _profile_or_none() -> Profile | None:
    try:
        return _read(_who())
    except CrmError as exc:
        log.warning("Profile read for the unsubscribe page failed: %s", exc)
        return None


def _submit(change: Change, profile: Profile, event: str = "") -> Outcome | tuple[str, int]:
    """The outcome of writing `change`, or the page saying why it was not written."""
    result = submit_from(_who(), profile, change, event)
    if result.outcome in (Outcome.APPLIED, Outcome.QUEUED):
        return result.outcome
    message, status = not_saved(result)
    return render_template("profile/unsubscribe_all.html", save_error=message,
                           **_page(profile)), status


def _offers(config: Config) -> dict[str, FieldSpec]:
    offers = config.portal.unsubscribe
    return {spec.key: spec for spec in (offers.fewer, offers.pause) if spec is not None}


def _labels(items: list[ItemSpec]) -> list[str]:
    return [text_for(item.label) for item in items]


def _page(profile: Profile, **forms: Any) -> dict[str, Any]:
    config = current()
    offers = _offers(config)
    subscribed = [item for item in reached_by_unsubscribe_all(config)
                  if item.item in profile.subscribed]
    kept = [item for item in kept_mailings(config) if item.item in profile.subscribed]
    return {
        "offers": {key: forms.get(key) or offer_form(spec, profile.values, current_language(),
                                                     formdata=None)
                   for key, spec in offers.items()},
        "offer_help": {key: text_for(spec.help) for key, spec in offers.items()},
        "only_some": config.portal.unsubscribe.only_some and len(config.items()) > 1,
        "leave": forms.get("leave") or leave_form(config, current_language()),
        "reason_help": text_for(config.portal.unsubscribe.reason.help)
        if config.portal.unsubscribe.reason else "",
        "leaving": _labels(subscribed), "keeping": _labels(kept),
    }
