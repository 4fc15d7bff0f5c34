"""The profile page: see, edit and save fields, subscriptions and languages."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
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
from portal.delivery.audience import held_tags, seen_by
from portal.delivery.reader import contact_languages, crm_choices, read_profile
from portal.delivery.writer import Outcome, WriteResult
from portal.fields import kind_of
from portal.hosting.theme import asset_url
from portal.i18n import current_language, text_for
from portal.profile.changes import Submission, build_change
from portal.profile.completeness import completeness
from portal.profile.form import CrmChoices, build_form, choices_for, choices_unavailable
from portal.rights.records import ask_email_change, split_address_change, submit_recorded

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
    items: list[tuple[Any, str, str, str]]  # (field, label, description, image address or "")


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
    try:
        profile = _read(who)
    except CrmError as exc:
        log.warning("Profile read before save failed: %s", exc)
        return render_template("errors/crm_unavailable.html"), 503
    config = seen_config(profile)
    form = _form(who, profile)
    # A field whose CRM choices cannot be read now is left as it is, not refused.
    unknown = set(request.form) - set(form._fields) - FORM_CONTROL_KEYS - \
        choices_unavailable(config, crm_choices())
    if unknown:
        # A tampered or stale form: refuse it whole rather than guess.
        log.info("Refused a profile form with unknown fields: %s", sorted(unknown))
        return render_template("profile/show.html", refused=True,
                               **_page(who, profile, _form(who, profile, stored=True))), 400
    action = request.form.get("action", "save")
    if action.startswith("all:"):
        return _select_all(who, profile, form, action.removeprefix("all:"))
    if action == "language":  # the language buttons send the form: its edits stay on the page
        return render_template("profile/show.html", language_kept=True,
                               **_page(who, profile, form))
    if not form.validate_on_submit():
        return render_template("profile/show.html", **_page(who, profile, form)), 400
    submission = _submission(config, form)
    # A new address is written only once it confirms it, through the link it is sent.
    fields, new_address = split_address_change(config, who.contact, profile, submission.fields)
    change = build_change(config, who.contact, profile, replace(submission, fields=fields))
    if new_address is not None:
        ask_email_change(who.contact, new_address, door=who.via, language=current_language())
    if change.is_empty():
        if new_address is None:
            flash(_("There was nothing to save: you made no changes."), "info")
        return redirect(url_for("profile.show"))
    written = _write(who, profile, form, change)
    if any(text.strip() for text in submission.notes.values()) and isinstance(written, Response):
        flash(_("Thank you for your message: a person on our team will read it."), "success")
    return written


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


def seen_config(profile: Profile) -> Config:
    """The configuration as this contact sees it: without the fields and
    items kept for contacts with tags they do not hold."""
    return seen_by(current(), held_tags(profile.subscribed))


def _form(who: SignedIn, profile: Profile, stored: bool = False) -> FlaskForm:
    """The profile form, filled from the request, or from the CRM when `stored`."""
    config = seen_config(profile)
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
    group = next((g for g in seen_config(profile).groups if g.key == group_key), None)
    if group is None:
        abort(400)
    for item in group.items:
        form[f"sub_{item.key}"].data = True
    flash(_("All options in “%(group)s” are ticked. Press “Save changes” to keep them.",
            group=text_for(group.label)), "info")
    return render_template("profile/show.html", **_page(who, profile, form))


def _write(who: SignedIn, profile: Profile, form: FlaskForm,
           change: Change) -> str | Response | tuple[str, int]:
    """Submit `change` and say how it went; on failure show the page again with `form`."""
    result = submit_from(who, profile, change)
    if result.outcome is Outcome.APPLIED:
        flash(_("Your changes are saved."), "success")
        return redirect(url_for("profile.show"))
    if result.outcome is Outcome.QUEUED:
        flash(_("Your changes are saved. They will reach our system shortly."), "success")
        return redirect(url_for("profile.show"))
    message, status = not_saved(result)
    return render_template("profile/show.html", save_error=message,
                           **_page(who, profile, form)), status


def submit_from(who: SignedIn, profile: Profile, change: Change,
                event: str = "") -> WriteResult:
    """Submit `change`, made by `who` from `profile`, with its consent records,
    history (as `event`, else as the change says) and receipt (portal.rights.records)."""
    language = current_language()
    return submit_recorded(who.contact, profile, change, door=who.via, language=language,
                           show=lambda spec, value: shown_value(spec, value, language,
                                                                crm_choices()), event=event)


def not_saved(result: WriteResult) -> tuple[str, int]:
    """What the contact reads when a change did not go through, and the status.
    A refusal is told in the contact's language, naming the field when the CRM
    did; the CRM's own words are for the operator's log."""
    if result.outcome is not Outcome.REFUSED:
        return _("We could not save your changes right now. Nothing you typed is lost: "
                 "press “Save changes” again in a moment."), 503
    error = result.error
    log.warning("The CRM refused a change: %s", getattr(error, "reason", "") or error)
    crm_field = getattr(error, "field", "")
    spec = next((f for f in current().fields if crm_field and f.crm_field == crm_field), None)
    if spec is not None:
        return _("Our system did not accept what you wrote in “%(field)s”. Please check it; "
                 "if it looks right, write to us.", field=text_for(spec.label)), 422
    return _("Our system did not accept these changes. Please check them; if they look right, "
             "write to us."), 422


def _ensure_newsletter_token(who: SignedIn, profile: Profile) -> None:
    """Give the contact a newsletter token in the CRM the first time we see them:
    through the queue, so the page spends none of the CRM's budget on it (the
    pending change shows the token to the next read)."""
    field = token_field()
    if field is not None and not profile.values.get(field.crm_field):
        issue_token(who.contact, now=False)


def _page(who: SignedIn, profile: Profile, form: FlaskForm) -> dict[str, Any]:
    config = seen_config(profile)
    language = current_language()
    fields = []
    # A newsletter link travels in forwarded mail: it shows no personal data at all.
    for spec in config.fields if _personal_allowed(who) else ():
        editable = spec.key in form
        if not editable and spec.is_note:
            continue  # a note field has no value to show
        fields.append(FieldView(
            # An input's hint says how to type; a value shown read-only gets its own, if any.
            spec=spec, label=text_for(spec.label, language),
            help=text_for(spec.help if editable else spec.read_only_help, language),
            input=form[spec.key] if editable else None,
            shown="" if editable else shown_value(spec, profile.values.get(spec.crm_field),
                                                  language, crm_choices()),
        ))
    groups = [
        GroupView(group, text_for(group.label, language), text_for(group.description, language),
                  [(form[f"sub_{item.key}"], text_for(item.label, language),
                    text_for(item.description, language), asset_url(text_for(item.image, language)))
                   for item in group.items])
        for group in config.groups
    ]
    language_boxes = [(form[f"lang_{code}"], code) for code in config.portal.languages
                      if f"lang_{code}" in form]
    return {"form": form, "fields": fields, "groups": groups, "language_boxes": language_boxes,
            "who": who, "personal_allowed": _personal_allowed(who),
            "shown_email": who.contact.email if _personal_allowed(who) else masked(who.contact.email),
            "opted_out_all": profile.opted_out_all, "sections": config.portal.profile_order,
            "language_form": "profile-form",
            "completeness": completeness(config, profile) if _personal_allowed(who) else None}


def masked(email: str) -> str:
    """An address as a newsletter link may show it: enough to recognise, not to copy."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def shown_value(spec: FieldSpec, value: Value, language: str, crm_options: CrmChoices) -> str:
    """A read-only value as the contact should read it."""
    kind = kind_of(spec)
    labels = dict(choices_for(spec, language, crm_options)) if kind.has_choices else {}
    return kind.show(value, labels)
