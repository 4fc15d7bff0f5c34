"""The profile form, built from marketing's configuration.

Every validator carries its own translated message: WTForms ships no Basque
catalog, so its built-in messages would reach Basque readers in English."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from babel import Locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, Regexp, ValidationError

from portal.crm.base import Value
from portal.i18n import text_for
from portal.settings import Config, FieldSpec

# CRM field -> (value, label) options, for fields with `choices_from_crm`.
CrmChoices = Mapping[str, Sequence[tuple[str, str]]]

DEFAULT_MAX = {"text": 255, "email": 254, "tel": 40, "textarea": 5000}


class PortalDateField(DateField):
    def process_formdata(self, valuelist: Sequence[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = dt.date.fromisoformat(valuelist[0].strip())
        except ValueError:
            self.data = None
            raise ValueError(str(_l("Write the date as year-month-day, for example 1990-05-31."))) \
                from None


class ChoiceCheck:
    """Refuse values that are not among the choices, with our own message."""

    def pre_validate(self, form: FlaskForm) -> None:
        allowed = {str(choice.value) for choice in self.choices}  # type: ignore[attr-defined]
        data = self.data  # type: ignore[attr-defined]
        values = data if isinstance(data, list) else ([data] if data else [])
        if any(str(v) not in allowed for v in values):
            raise ValidationError(str(_l("Choose one of the options offered.")))


class PortalSelectField(ChoiceCheck, SelectField):
    pass


class PortalMultiField(ChoiceCheck, SelectMultipleField):
    pass


def country_choices(language: str) -> list[tuple[str, str]]:
    names = Locale.parse(language).territories
    codes = [code for code in names if len(code) == 2 and code.isalpha()
             and code not in {"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"}]
    return sorted(((code, names[code]) for code in codes), key=lambda c: c[1].casefold())


def field_for(spec: FieldSpec, language: str, crm_choices: CrmChoices) -> Field:
    label = text_for(spec.label, language)
    description = text_for(spec.help, language) if spec.help else ""
    validators: list[Any] = []
    if spec.type == "checkbox":
        if spec.required:
            validators.append(InputRequired(message=_l("This box must be ticked.")))
        return BooleanField(label, validators=validators, description=description)
    if spec.required:
        validators.append(DataRequired(message=_l("This field is required.")))
    else:
        validators.append(Optional())
    limit = spec.max_length or DEFAULT_MAX.get(spec.type)
    if limit:
        validators.append(Length(max=limit, message=_l(
            "Use at most %(max)d characters.", max=limit)))
    if spec.pattern:
        validators.append(Regexp(spec.pattern, message=_l("The format is not valid.")))
    kwargs = {"validators": validators, "description": description}
    if spec.type == "email":
        validators.append(Email(message=_l("This does not look like an email address.")))
        return EmailField(label, render_kw={"autocomplete": "email"}, **kwargs)
    if spec.type == "tel":
        return TelField(label, render_kw={"autocomplete": "tel"}, **kwargs)
    if spec.type == "textarea":
        return TextAreaField(label, **kwargs)
    if spec.type == "date":
        return PortalDateField(label, **kwargs)
    if spec.type in ("select", "country"):
        choices = choices_for(spec, language, crm_choices)
        return PortalSelectField(label, choices=_choices([("", "—"), *choices]),
                                 validate_choice=False, **kwargs)
    if spec.type == "multiselect":
        choices = choices_for(spec, language, crm_choices)
        return PortalMultiField(label, choices=_choices(choices), validate_choice=False, **kwargs)
    return StringField(label, **kwargs)


def choices_for(spec: FieldSpec, language: str, crm_choices: CrmChoices) -> list[tuple[str, str]]:
    """(value, label) pairs a select offers: countries from Babel, the CRM's
    own options for `choices_from_crm`, else marketing's labelled choices."""
    if spec.type == "country":
        return country_choices(language)
    if spec.choices_from_crm:
        return list(crm_choices.get(spec.crm_field, ()))
    return [(c.value, text_for(c.label, language)) for c in spec.choices]


def _choices(pairs: Sequence[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def form_value(spec: FieldSpec, value: Value) -> Any:
    """A CRM value as the WTForms field wants it."""
    if spec.type == "date" and isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    if spec.type == "multiselect":
        return list(value) if isinstance(value, list) else ([value] if value else [])
    if spec.type == "checkbox":
        return bool(value)
    return value


def editable_fields(config: Config, personal_allowed: bool) -> list[FieldSpec]:
    return [spec for spec in config.fields if spec.editable and personal_allowed]


def build_form(config: Config, language: str, personal_allowed: bool,
               values: Mapping[str, Value], subscribed: set[str], languages: Sequence[str],
               crm_choices: CrmChoices, **form_kwargs: Any) -> FlaskForm:
    """A form with one field per editable spec, one box per subscription item
    (`sub_<key>`) and one per language (`lang_<code>`). `form_kwargs` go to
    FlaskForm: pass `formdata=None` to show stored values instead of the request's."""

    class ProfileForm(FlaskForm):
        pass

    data: dict[str, Any] = {}
    for spec in editable_fields(config, personal_allowed):
        setattr(ProfileForm, spec.key, field_for(spec, language, crm_choices))
        if not spec.is_note:
            data[spec.key] = form_value(spec, values.get(spec.crm_field))
    for item in config.items():
        setattr(ProfileForm, f"sub_{item.key}", BooleanField(text_for(item.label, language)))
        data[f"sub_{item.key}"] = item.key in subscribed
    if config.portal.language_preference.mode != "off":
        for code in config.portal.languages:
            setattr(ProfileForm, f"lang_{code}", BooleanField(code))
            data[f"lang_{code}"] = code in languages
    return ProfileForm(data=data, **form_kwargs)
