"""The register page: an address that is no contact's yet, proven by the
link emailed to it, becomes a contact. The page asks marketing's fields for
registering, shows the legal text and the privacy policy, and offers each
subscription unticked; sending it creates the contact in the CRM, writes
what was chosen with its consent records (door "register") and signs the
new contact in."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField
from wtforms.validators import InputRequired

from portal.auth.doors import doors
from portal.auth.links import LinkState
from portal.auth.session import FULL, SignedIn, sign_in
from portal.auth.views import link_problem
from portal.config import Config, LanguagePreference, current
from portal.crm.base import CrmError, Profile
from portal.delivery import delivery
from portal.delivery.audience import is_member, seen_by
from portal.delivery.reader import crm_choices
from portal.delivery.writer import Outcome
from portal.i18n import current_language, text_for
from portal.profile.changes import build_change
from portal.profile.form import build_form
from portal.profile.views import FORM_CONTROL_KEYS, _submission, not_saved, submit_from

log = logging.getLogger(__name__)
bp = Blueprint("register", __name__, url_prefix="/register")
NAME_PARTS = ("name", "given-name", "additional-name", "family-name")  # autofill names, in order


def register_config(config: Config) -> Config:
    """What a new contact is asked and offered: the register fields, and the
    items a contact with the register tags sees."""
    seen = seen_by(config, config.register.tags)
    wanted = config.register.fields
    fields = sorted((spec for spec in seen.fields if spec.key in wanted),
                    key=lambda spec: wanted.index(spec.key))
    return replace(seen, fields=tuple(fields))


def register_form(config: Config, **form_kwargs: Any) -> FlaskForm:
    """The register form: the profile's form on the register fields and items,
    every box unticked, and the box that says the legal text was read."""
    no_languages = replace(config, portal=replace(config.portal,
                                                  language_preference=LanguagePreference("off")))
    return build_form(no_languages, current_language(), True, {}, set(), [], crm_choices(),
                      extra={"accept": _accept_box}, **form_kwargs)


def _accept_box() -> BooleanField:
    return BooleanField(_l("I have read the legal notice and the privacy policy"), validators=[
        InputRequired(message=_l("To sign up, tick this box once you have read the legal notice."))])


@bp.get("/<token>")
def page(token: str) -> str | tuple[str, int]:
    # Mail scanners open every link: a GET shows the form and spends nothing.
    if not current().register.enabled:
        return link_problem(LinkState.INVALID)
    state = doors().register.check(token).state
    if state is not LinkState.VALID:
        return link_problem(state)
    return _page(token, register_form(register_config(current())))


@bp.post("/<token>")
def send(token: str) -> str | Response | tuple[str, int]:
    config = current()
    if not config.register.enabled:
        return link_problem(LinkState.INVALID)
    state = doors().register.check(token).state
    if state is not LinkState.VALID:
        return link_problem(state)
    asked = register_config(config)
    form = register_form(asked)
    if set(request.form) - set(form._fields) - FORM_CONTROL_KEYS:
        log.info("Refused a register form with fields it does not offer")
        return _page(token, register_form(asked, formdata=None), refused=True), 400
    if request.form.get("action") == "language":  # the form comes back in that language
        return _page(token, form)
    if not form.validate_on_submit():
        return _page(token, form), 400
    checked = doors().register.use(token)
    if checked.state is not LinkState.VALID:
        return link_problem(checked.state)
    try:
        return _register(config, asked, form, checked.email)
    except CrmError as exc:
        log.warning("Registering failed in the CRM: %s", exc)
        # The link is spent: the page goes on with a new one, and with all that was typed.
        again = doors().register.issue(checked.email)
        return _page(again, form, save_error=_(
            "We could not sign you up right now. Nothing you typed is lost: press “Sign up” "
            "again in a moment.")), 503


def _register(config: Config, asked: Config, form: FlaskForm,
              email: str) -> Response | tuple[str, int]:
    crm = delivery().crm
    existing = crm.find_contact(email)
    if existing is not None:  # registered meanwhile, or by another door: no duplicate
        if not is_member(crm, existing, config):
            return link_problem(LinkState.INVALID)
        sign_in(existing, FULL, via="link")
        flash(_("You were already in our records: here are your details and subscriptions."),
              "info")
        return redirect(url_for("profile.show"))
    submission = _submission(replace(asked, portal=replace(
        asked.portal, language_preference=LanguagePreference("off"))), form)
    if config.portal.language_preference.mode != "off":
        submission = replace(submission, languages=[current_language()])
    contact = crm.create_contact(email, _name(asked, submission.fields))
    change = build_change(asked, contact, Profile(contact), submission)
    change = replace(change, add_tags=tuple(dict.fromkeys((*change.add_tags,
                                                          *config.register.tags))))
    result = submit_from(SignedIn(contact, FULL, "register"), Profile(contact), change)
    # The address was proven by the link: the new contact is in, whatever the CRM said.
    sign_in(contact, FULL, via="link")
    if result.outcome in (Outcome.APPLIED, Outcome.QUEUED):
        flash(_("Welcome: you are signed up. Here are your details and subscriptions."),
              "success")
    else:
        flash(not_saved(result)[0], "warning")
    return redirect(url_for("profile.show"))


def _name(config: Config, values: Mapping[str, object]) -> str:
    """The contact's name, from the fields the browser would fill with one."""
    parts = sorted((spec for spec in config.fields if spec.autocomplete in NAME_PARTS),
                   key=lambda spec: NAME_PARTS.index(spec.autocomplete))
    return " ".join(str(values.get(spec.key) or "").strip() for spec in parts).strip()


def _page(token: str, form: FlaskForm, **extra: Any) -> str:
    config = current()
    asked = register_config(config)
    fields = [(form[spec.key], text_for(spec.help), spec.required)
              for spec in asked.fields if spec.key in form]
    groups = [(text_for(group.label), text_for(group.description),
               [(form[f"sub_{item.key}"], text_for(item.label), text_for(item.description))
                for item in group.items])
              for group in asked.groups]
    return render_template("profile/register.html", form=form, fields=fields, groups=groups,
                           legal=text_for(config.register.legal),
                           privacy_url=text_for(config.page.privacy_url),
                           action=url_for("register.send", token=token),
                           language_form="register-form", **extra)
