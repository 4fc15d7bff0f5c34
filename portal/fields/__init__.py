"""The one table of field types: per type, the form field it is edited
with, the canonical form of its values, how a read-only value reads, and
which CRM field types can hold it.

The form builder, the change builder, the profile views and `portal doctor`
read this table. Adding a type is one entry here plus each adapter's
encoding of its values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, Field, StringField, TelField, TextAreaField

# WTForms 3.3 wants SelectChoice (tuples are deprecated); its stubs still describe 3.2.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, Regexp

from portal.crm.base import Value
from portal.fields.dates import DateBounds, long_date
from portal.fields.widgets import (
    OptionsOnce,
    PortalDateField,
    PortalMultiField,
    PortalSelectField,
    VisibleText,
    country_choices,
)

if TYPE_CHECKING:
    from portal.config.model import FieldSpec

Choices = Sequence[tuple[str, str]]  # (value, label)
# (spec, label, help text, choices) -> the WTForms field, unbound
MakeField = Callable[["FieldSpec", str, str, Choices], Field]


@dataclass(frozen=True)
class FieldKind:
    name: str
    make_field: MakeField
    stored_in: frozenset[str]  # the portal types of CRM fields that can hold its values
    default_max: int | None = None
    needs_choices: bool = False  # marketing's choices, or the CRM's
    builtin_choices: Callable[[str], Choices] | None = None  # per language (countries)

    @property
    def has_choices(self) -> bool:
        return self.needs_choices or self.builtin_choices is not None

    def normalise(self, value: object) -> Value:
        """One canonical form per value, so that unchanged fields compare equal."""
        return _NORMALISE.get(self.name, _normalise_text)(value)

    def form_value(self, value: Value) -> Any:
        """A CRM value as the WTForms field wants it."""
        return _FORM_VALUE.get(self.name, _same)(value)

    def show(self, value: Value, labels: Mapping[str, str]) -> str:
        """A read-only value as the contact should read it; `labels` names the choices."""
        shown = self.form_value(value)
        if shown in (None, "", []):
            return "—"
        return _SHOW.get(self.name, _show_choice)(shown, labels)


# --- form fields ----------------------------------------------------------------


def _validators(spec: FieldSpec, default_max: int | None) -> list[Any]:
    checks: list[Any] = [DataRequired(message=_l("This field is required."))] if spec.required \
        else [Optional()]
    checks.append(VisibleText(multiline=spec.type == "textarea"))
    limit = spec.max_length or default_max
    if limit:
        checks.append(Length(max=limit, message=_l("Use at most %(max)d characters.", max=limit)))
    if spec.pattern:
        checks.append(Regexp(spec.pattern, message=_l("The format is not valid.")))
    return checks


def _attributes(spec: FieldSpec) -> dict[str, str] | None:
    """The input's HTML attributes: the browser's autofill name."""
    autocomplete = spec.autocomplete or AUTOCOMPLETE.get(spec.type, "")
    return {"autocomplete": autocomplete} if autocomplete else None


def _plain(cls: type[Field], default_max: int | None) -> MakeField:
    def make(spec: FieldSpec, label: str, help_text: str, choices: Choices) -> Field:
        return cls(label, validators=_validators(spec, default_max), description=help_text,
                   render_kw=_attributes(spec))
    return make


def _email(spec: FieldSpec, label: str, help_text: str, choices: Choices) -> Field:
    checks = [*_validators(spec, 254), Email(message=_l("This does not look like an email address."))]
    return EmailField(label, validators=checks, description=help_text,
                      render_kw=_attributes(spec))


def _date(spec: FieldSpec, label: str, help_text: str, choices: Choices) -> Field:
    bounds = DateBounds(spec.earliest, spec.latest)
    return PortalDateField(label, validators=[*_validators(spec, None), bounds],
                           description=help_text, render_kw=_attributes(spec))


def _checkbox(spec: FieldSpec, label: str, help_text: str, choices: Choices) -> Field:
    checks = [InputRequired(message=_l("This box must be ticked."))] if spec.required else []
    return BooleanField(label, validators=checks, description=help_text)


def _select(spec: FieldSpec, label: str, help_text: str, choices: Choices) -> Field:
    return PortalSelectField(label, choices=_options([("", "—"), *choices]), validate_choice=False,
                             validators=_validators(spec, None), description=help_text,
                             render_kw=_attributes(spec), widget=OptionsOnce())


def _multiselect(spec: FieldSpec, label: str, help_text: str, choices: Choices) -> Field:
    return PortalMultiField(label, choices=_options(choices), validate_choice=False,
                            validators=_validators(spec, None), description=help_text,
                            widget=OptionsOnce(multiple=True))


def _options(pairs: Choices) -> list[Any]:
    return [SelectChoice(value, label) for value, label in pairs]


# --- values -----------------------------------------------------------------------


def _normalise_text(value: object) -> Value:
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None:
        return None
    return str(value).strip() or None


def _normalise_date(value: object) -> Value:
    text = _normalise_text(value)
    return text[:10] if isinstance(text, str) else None


def _normalise_many(value: object) -> Value:
    values = value if isinstance(value, list) else ([value] if value else [])
    return sorted(str(v) for v in values) or None


def _date_value(value: Value) -> dt.date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _many_value(value: Value) -> list[Any]:
    return list(value) if isinstance(value, list) else ([value] if value else [])


def _same(value: Value) -> Any:
    return value


def _show_choice(value: Any, labels: Mapping[str, str]) -> str:
    if isinstance(value, list):
        return ", ".join(labels.get(v, v) for v in value)
    return labels.get(str(value), str(value))


def _show_box(value: Any, labels: Mapping[str, str]) -> str:
    return str(_("Yes") if value else _("No"))


def _show_date(value: Any, labels: Mapping[str, str]) -> str:
    return long_date(value)


_NORMALISE: dict[str, Callable[[object], Value]] = {
    "checkbox": bool, "multiselect": _normalise_many, "date": _normalise_date}
_FORM_VALUE: dict[str, Callable[[Value], Any]] = {
    "checkbox": bool, "multiselect": _many_value, "date": _date_value}
_SHOW: dict[str, Callable[[Any, Mapping[str, str]], str]] = {
    "checkbox": _show_box, "date": _show_date}

# --- the table ------------------------------------------------------------------------

TEXTUAL = frozenset({"text", "email", "tel", "country", "textarea"})

FIELDS: dict[str, FieldKind] = {kind.name: kind for kind in (
    FieldKind("text", _plain(StringField, 255), TEXTUAL, 255),
    FieldKind("email", _email, TEXTUAL, 254),
    FieldKind("tel", _plain(TelField, 40), TEXTUAL, 40),
    # Free text for the organisation's staff: it becomes a CRM note, not a value.
    FieldKind("textarea", _plain(TextAreaField, 5000), frozenset({"textarea"}), 5000),
    # A free-text CRM field can hold any choice.
    FieldKind("select", _select, frozenset({"select"}) | TEXTUAL - {"textarea"}, needs_choices=True),
    FieldKind("multiselect", _multiselect, frozenset({"multiselect"}), needs_choices=True),
    FieldKind("checkbox", _checkbox, frozenset({"checkbox"})),
    FieldKind("date", _date, frozenset({"date"})),
    # A country may be stored as text or as a CRM list of countries.
    FieldKind("country", _select, TEXTUAL | {"select"}, builtin_choices=country_choices),
)}
FIELD_TYPES: tuple[str, ...] = tuple(FIELDS)

# The browser's autofill name of each type whose values say what they are.
AUTOCOMPLETE = {"email": "email", "tel": "tel", "country": "country"}
# The autofill names a field may give (HTML's "autofill field names").
AUTOFILL_NAMES = frozenset({
    "off", "name", "honorific-prefix", "given-name", "additional-name", "family-name",
    "honorific-suffix", "nickname", "organization-title", "organization", "street-address",
    "address-line1", "address-line2", "address-line3", "address-level1", "address-level2",
    "address-level3", "address-level4", "country", "country-name", "postal-code", "language",
    "bday", "bday-day", "bday-month", "bday-year", "sex", "url", "tel", "tel-country-code",
    "tel-national", "email", "impp"})


def kind_of(spec: FieldSpec) -> FieldKind:
    return FIELDS[spec.type]


def compatible(portal_type: str, crm_type: str | None) -> bool:
    """Whether a CRM field whose values map to `crm_type` can hold `portal_type`."""
    return crm_type is not None and crm_type in FIELDS[portal_type].stored_in
