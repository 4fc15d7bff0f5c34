"""The profile form, built from marketing's configuration and the table of
field types (portal.fields)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, TextAreaField
from wtforms.validators import Length, Optional

from portal.config import Config, FieldSpec
from portal.config.memo import PerConfig
from portal.crm.base import Value
from portal.fields import Choices, kind_of
from portal.fields.widgets import VisibleText
from portal.i18n import text_for

# CRM field -> (value, label) options, for fields with `choices_from_crm`.
CrmChoices = Mapping[str, Choices]
COMMENT_MAX = 2000  # the contact's own words when leaving


def field_for(spec: FieldSpec, language: str, crm_choices: CrmChoices) -> Field:
    kind = kind_of(spec)
    choices = choices_for(spec, language, crm_choices) if kind.has_choices else ()
    help_text = text_for(spec.help, language) if spec.help else ""
    return kind.make_field(spec, text_for(spec.label, language), help_text, choices)


def choices_for(spec: FieldSpec, language: str, crm_choices: CrmChoices) -> Choices:
    """(value, label) pairs a select offers: the type's own (countries), the
    CRM's options for `choices_from_crm`, else marketing's labelled choices."""
    builtin = kind_of(spec).builtin_choices
    if builtin is not None:
        return builtin(language)
    if spec.choices_from_crm:
        return tuple(crm_choices.get(spec.crm_field, ()))
    return tuple((c.value, text_for(c.label, language)) for c in spec.choices)


def editable_fields(config: Config, personal_allowed: bool,
                    crm_choices: CrmChoices) -> list[FieldSpec]:
    """The fields the contact may edit now: not one whose choices come from
    the CRM and cannot be read just now (an empty list would clear its value)."""
    blocked = choices_unavailable(config, crm_choices)
    return [spec for spec in config.fields
            if spec.editable and personal_allowed and spec.key not in blocked]


def choices_unavailable(config: Config, crm_choices: CrmChoices) -> set[str]:
    """Keys of the fields whose choices come from the CRM and are missing now."""
    return {spec.key for spec in config.fields
            if spec.choices_from_crm and spec.crm_field not in crm_choices}


def build_form(config: Config, language: str, personal_allowed: bool,
               values: Mapping[str, Value], subscribed: set[str], languages: Sequence[str],
               crm_choices: CrmChoices, extra: Mapping[str, Callable[[], Field]] | None = None,
               **form_kwargs: Any) -> FlaskForm:
    """A form with one field per editable spec, one box per subscription item
    (`sub_<key>`) and one per language (`lang_<code>`), then the fields
    `extra` makes for a page. `form_kwargs` go to FlaskForm: pass
    `formdata=None` to show stored values instead of the request's."""
    data: dict[str, Any] = {}
    for spec in editable_fields(config, personal_allowed, crm_choices):
        if not spec.is_note:
            data[spec.key] = kind_of(spec).form_value(values.get(spec.crm_field))
    for item in config.items():
        data[f"sub_{item.key}"] = item.key in subscribed
    if config.portal.language_preference.mode != "off":
        for code in config.portal.languages:
            data[f"lang_{code}"] = code in languages
    choices = tuple(sorted((key, tuple(options)) for key, options in crm_choices.items()))
    cls = form_class(config, language, personal_allowed, choices)
    if extra:  # made last, so that they come last (WTForms orders fields as they were made)
        cls = type("PageForm", (cls,), {name: make() for name, make in extra.items()})
    return cls(data=data, **form_kwargs)


_CLASSES: PerConfig[type[FlaskForm]] = PerConfig()


def form_class(config: Config, language: str, personal_allowed: bool,
               crm_choices: tuple[tuple[str, Choices], ...]) -> type[FlaskForm]:
    """The profile form's class for one configuration, language, scope and set
    of CRM options: built once, not on every page (a class of some thirty
    fields, a country list among them, was a good part of a page's work)."""
    return _CLASSES.get(config, (language, personal_allowed, crm_choices),
                        lambda: _built(config, language, personal_allowed, dict(crm_choices)))


def _built(config: Config, language: str, personal_allowed: bool,
           options: CrmChoices) -> type[FlaskForm]:
    class ProfileForm(FlaskForm):
        pass

    for spec in editable_fields(config, personal_allowed, options):
        setattr(ProfileForm, spec.key, field_for(spec, language, options))
    for item in config.items():
        setattr(ProfileForm, f"sub_{item.key}", BooleanField(text_for(item.label, language)))
    if config.portal.language_preference.mode != "off":
        for code in config.portal.languages:
            setattr(ProfileForm, f"lang_{code}", BooleanField(code))
    return ProfileForm


def offer_form(spec: FieldSpec, values: Mapping[str, Value], language: str,
               **form_kwargs: Any) -> FlaskForm:
    """A form of one field (an offer of the unsubscribe page), filled with its
    value in `values`; `formdata=None` shows that value instead of the request's."""

    class OfferForm(FlaskForm):
        pass

    setattr(OfferForm, spec.key, field_for(replace(spec, required=True), language, {}))
    return OfferForm(data={spec.key: kind_of(spec).form_value(values.get(spec.crm_field))},
                     **form_kwargs)


def leave_form(config: Config, language: str) -> FlaskForm:
    """"Unsubscribe from all": "why are you leaving?" with its choices and a
    box for the contact's own words, when marketing asks it; else the button alone."""

    class LeaveForm(FlaskForm):
        pass

    reason = config.portal.unsubscribe.reason
    if reason is not None:
        LeaveForm.reason = field_for(replace(reason, required=False), language, {})
        LeaveForm.comment = TextAreaField(_l("Anything else you want to tell us?"), validators=[
            Optional(), VisibleText(multiline=True),
            Length(max=COMMENT_MAX, message=_l("Use at most %(max)d characters.", max=COMMENT_MAX))])
    return LeaveForm()

