"""The profile page: see, edit and save fields, subscriptions and languages."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from portal.auth.newsletter_field import issue_token, token_field, token_still_held
from portal.auth.session import FULL, SignedIn, login_required, sign_out, signed_in
from portal.auth.views import email_sign_in_link
from portal.config import Config, FieldSpec, GroupSpec, current
from portal.crm.base import Change, CrmError, Profile, Value
from portal.delivery import delivery
from portal.delivery.reader import contact_languages, crm_choices, read_profile
from portal.delivery.writer import Outcome
from portal.fields import kind_of
from portal.i18n import current_language, text_for
from portal.profile.changes import Submission, build_change, unsubscribe_all_change
from portal.profile.form import CrmChoices, build_form, choices_for

log = logging.getLogger(__name__)
bp = Blueprint("profile", __name__, url_prefix="/profile")
FORM_CONTROL_KEYS = {"csrf_token", "action"}


@dataclass
class FieldView:
    spec: FieldSpec
    label: str
    help: str
    input: Any  # the WTForms field, or None when shown read-only
    shown: str  # the value as text, for read-only fields


@dataclass
class GroupView:
    spec: GroupSpec
    label: str
    description: str
    items: list[tuple[Any, str, str, str | None]]  # (field, label, description, image)


@bp.get("/")
@login_required
def show() -> str | tuple[str, int]:
    who = _who()
    try:
        profile = _read(who)
    except CrmError as exc:
        log.warning("Profile read failed: %s", exc)
        return render_template("errors/crm_unavailable.html"), 503
    _ensure_newsletter_token(who, profile)
    form = _form(who, profile, stored=True)
    return render_template("profile/show.html", **_page(who, profile, form))


@bp.post("/")
@login_required
def save() -> str | Response | tuple[str, int]:
    who = _who()
    config = current()
    try:
        profile = _read(who)
    except CrmError as exc:
        log.warning("Profile read before save failed: %s", exc)
        return render_template("errors/crm_unavailable.html"), 503
    form = _form(who, profile)
    unknown = set(request.form) - set(form._fields) - FORM_CONTROL_KEYS
    if unknown:
        # A tampered or stale form: refuse it whole rather than guess.
        log.info("Refused a profile form with unknown fields: %s", sorted(unknown))
        return render_template("profile/show.html", refused=True,
                               **_page(who, profile, _form(who, profile, stored=True))), 400
    action = request.form.get("action", "save")
    if action.startswith("all:"):
        return _select_all(who, profile, form, action.removeprefix("all:"))
    if not form.validate_on_submit():
        return render_template("profile/show.html", **_page(who, profile, form)), 400
    change = build_change(config, who.contact, profile, _submission(config, form))
    if change.is_empty():
        flash(_("There was nothing to save: you made no changes."), "info")
        return redirect(url_for("profile.show"))
    return _write(who, profile, form, change)


@bp.post("/personal-details-link")
@login_required
def personal_details_link() -> Response:
    """From a newsletter link, one press emails the contact a link that may
    change personal details too."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    email = _who().contact.email
    if email_sign_in_link(email):
        flash(_("We have emailed you a link: open it to change your personal details."), "success")
    else:
        flash(_("You have asked for many links in a short time. Please wait a while and try "
                "again; if a link already reached your inbox, you can use it."), "info")
    return redirect(url_for("profile.show"))


@bp.get("/unsubscribe-all")
@login_required
def confirm_unsubscribe_all() -> str:
    return render_template("profile/unsubscribe_all.html", form=FlaskForm())


@bp.post("/unsubscribe-all")
@login_required
def unsubscribe_all() -> str | Response | tuple[str, int]:
    if not FlaskForm().validate_on_submit():
        abort(400)
    who = _who()
    try:
        profile = _read(who)
    except CrmError:
        return render_template("errors/crm_unavailable.html"), 503
    change = unsubscribe_all_change(current(), who.contact, profile)
    return _write(who, profile, None, change,
                  done=_("You have been unsubscribed from all our emails."))


# --- helpers -------------------------------------------------------------------


def _who() -> SignedIn:
    who = signed_in()
    assert who is not None  # login_required
    return who


def _read(who: SignedIn) -> Profile:
    """The contact's profile; a newsletter session whose token the CRM no
    longer holds ends here, and the start page says why."""
    profile = read_profile(who.contact)
    if not token_still_held(profile):
        sign_out()
        flash(_("The link from our newsletter no longer works. Ask for a link by email below."),
              "info")
        abort(redirect(url_for("auth.start")))
    return profile


def _personal_allowed(who: SignedIn) -> bool:
    return who.scope == FULL


def _form(who: SignedIn, profile: Profile, stored: bool = False) -> FlaskForm:
    """The profile form, filled from the request, or from the CRM when `stored`."""
    config = current()
    subscribed = {item.key for item in config.items() if item.item in profile.subscribed}
    kwargs = {"formdata": None} if stored else {}
    return build_form(config, current_language(), _personal_allowed(who), profile.values,
                      subscribed, contact_languages(config, profile), crm_choices(), **kwargs)


def _submission(config: Config, form: FlaskForm) -> Submission:
    fields: dict[str, object] = {}
    notes: dict[str, str] = {}
    for spec in config.fields:
        if spec.key not in form:
            continue
        if spec.is_note:
            notes[spec.key] = form[spec.key].data or ""
        else:
            fields[spec.key] = form[spec.key].data
    subscribed = {item.key for item in config.items() if form[f"sub_{item.key}"].data}
    languages = None
    if config.portal.language_preference.mode != "off":
        languages = [code for code in config.portal.languages if form[f"lang_{code}"].data]
    return Submission(fields=fields, subscribed=subscribed, languages=languages, notes=notes)


def _select_all(who: SignedIn, profile: Profile, form: FlaskForm, group_key: str) -> str:
    group = next((g for g in current().groups if g.key == group_key), None)
    if group is None:
        abort(400)
    for item in group.items:
        form[f"sub_{item.key}"].data = True
    flash(_("All options in “%(group)s” are ticked. Press “Save changes” to keep them.",
            group=text_for(group.label)), "info")
    return render_template("profile/show.html", **_page(who, profile, form))


def _write(who: SignedIn, profile: Profile, form: FlaskForm | None, change: Change,
           done: str | None = None) -> str | Response | tuple[str, int]:
    """Submit `change` and say how it went; on failure show the page again
    with `form` (None: the form as the CRM has it, built only then)."""
    result = delivery().writer.submit(change)
    if result.outcome is Outcome.APPLIED:
        flash(done or _("Your changes are saved."), "success")
        return redirect(url_for("profile.show"))
    if result.outcome is Outcome.QUEUED:
        flash(_("Your changes are saved. They will reach our system shortly."), "success")
        return redirect(url_for("profile.show"))
    if result.outcome is Outcome.REFUSED:
        message = _("Our system did not accept these changes: %(reason)s",
                    reason=getattr(result.error, "reason", "") or str(result.error))
        status = 422
    else:
        message = _("We could not save your changes right now. Nothing you typed is lost: "
                    "press “Save changes” again in a moment.")
        status = 503
    if form is None:
        form = _form(who, profile, stored=True)
    return render_template("profile/show.html", save_error=message,
                           **_page(who, profile, form)), status


def _ensure_newsletter_token(who: SignedIn, profile: Profile) -> None:
    """Give the contact a newsletter token in the CRM the first time we see them:
    through the queue, so the page spends none of the CRM's budget on it (the
    pending change shows the token to the next read)."""
    field = token_field()
    if field is not None and not profile.values.get(field.crm_field):
        issue_token(who.contact, now=False)


def _page(who: SignedIn, profile: Profile, form: FlaskForm) -> dict[str, Any]:
    config = current()
    language = current_language()
    fields = []
    # A newsletter link travels in forwarded mail: it shows no personal data at all.
    for spec in config.fields if _personal_allowed(who) else ():
        editable = spec.key in form
        if not editable and spec.is_note:
            continue  # a note field has no value to show
        fields.append(FieldView(
            spec=spec, label=text_for(spec.label), help=text_for(spec.help),
            input=form[spec.key] if editable else None,
            shown="" if editable else shown_value(spec, profile.values.get(spec.crm_field),
                                                  language, crm_choices()),
        ))
    groups = [
        GroupView(group, text_for(group.label), text_for(group.description),
                  [(form[f"sub_{item.key}"], text_for(item.label), text_for(item.description),
                    item.image) for item in group.items])
        for group in config.groups
    ]
    language_boxes = [(form[f"lang_{code}"], code) for code in config.portal.languages
                      if f"lang_{code}" in form]
    return {"form": form, "fields": fields, "groups": groups, "language_boxes": language_boxes,
            "who": who, "personal_allowed": _personal_allowed(who),
            "shown_email": who.contact.email if _personal_allowed(who) else masked(who.contact.email),
            "opted_out_all": profile.opted_out_all}


def masked(email: str) -> str:
    """An address as a newsletter link may show it: enough to recognise, not to copy."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def shown_value(spec: FieldSpec, value: Value, language: str, crm_options: CrmChoices) -> str:
    """A read-only value as the contact should read it."""
    kind = kind_of(spec)
    labels = dict(choices_for(spec, language, crm_options)) if kind.has_choices else {}
    return kind.show(value, labels)
