"""The WTForms fields the portal's types need beyond WTForms' own, each
with its own translated message: WTForms ships no Basque catalog, so its
built-in messages would reach Basque readers in English."""

from __future__ import annotations

import datetime as dt
import operator
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from babel import Locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import DateField, Field, SelectField, SelectMultipleField
from wtforms.fields.choices import SelectFieldBase
from wtforms.form import BaseForm
from wtforms.validators import ValidationError
from wtforms.widgets import Select

from portal.fields.markup import attributes

# Unicode categories stored nowhere: controls, formatting (bidi, zero-width),
# private use, surrogates, unassigned.
INVISIBLE = frozenset({"Cc", "Cf", "Co", "Cs", "Cn"})
TILDE = "\u0303"  # the combining mark that makes n into ñ
AFTER_EVERY_LETTER = "\U0010ffff"
# Codes Babel lists among territories that are not countries one lives in:
# groupings and unknown regions, and places ISO 3166 counts within a country
# (Canarias, Ceuta y Melilla, Diego Garcia, Ascension, Clipperton, Sark,
# Tristan da Cunha).
NOT_COUNTRIES = frozenset({"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB",
                           "IC", "EA", "DG", "AC", "CP", "CQ", "TA"})


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

    choices: Any
    data: Any

    def pre_validate(self, form: BaseForm) -> None:
        allowed = {str(choice.value) for choice in self.choices}
        values = self.data if isinstance(self.data, list) else ([self.data] if self.data else [])
        if any(str(v) not in allowed for v in values):
            raise ValidationError(str(_l("Choose one of the options offered.")))


class OptionsOnce(Select):
    """WTForms' select, its options written once per list of choices: a
    country list is some 250 options, and writing each of them again for
    every page was most of the page's work. Only the chosen ones differ.

    portal.fields gives each select field a widget of its own: it keeps the
    options of the choices it wrote last, known as the same choice objects
    (choices are replaced, never changed in place)."""

    def __init__(self, multiple: bool = False) -> None:
        super().__init__(multiple=multiple)
        self._written: tuple[tuple[Any, ...], WrittenOptions] | None = None

    def __call__(self, field: SelectFieldBase, **kwargs: Any) -> Markup:
        choices = getattr(field, "choices", None) or []
        options = self._options(field, choices)
        if options is None:
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        if self.multiple:
            kwargs["multiple"] = True
        flags = getattr(field, "flags", {})
        kwargs.update({k: getattr(flags, k) for k in self.validation_attrs
                       if k not in kwargs and getattr(flags, k, False)})
        data = field.data if isinstance(field.data, list) else [field.data]
        chosen = options.with_chosen({str(v) for v in data if v is not None})
        # Every part is escaped: attributes() quotes, labels went through escape().
        return Markup(f"<select {attributes({'name': field.name, **kwargs})}>{chosen}</select>")  # noqa: S704

    def _options(self, field: SelectFieldBase, choices: Sequence[Any]) -> WrittenOptions | None:
        """The options of `choices`, written once; None when they come in
        groups or a choice has attributes of its own (WTForms writes those)."""
        written = self._written
        if written is not None and len(written[0]) == len(choices) \
                and all(map(operator.is_, written[0], choices)):
            return written[1]
        if field.has_groups() or any(getattr(c, "render_kw", None) for c in choices):
            return None
        options = WrittenOptions.of(tuple((str(c.value), c.label) for c in choices))
        self._written = (tuple(choices), options)
        return options


@dataclass(frozen=True)
class WrittenOptions:
    """A select's options as WTForms writes them, none selected, and where
    each value's option is in them, with its selected form."""

    plain: str
    spans: Mapping[str, tuple[tuple[int, int, str], ...]]  # value -> (start, end, selected)

    @classmethod
    def of(cls, choices: Sequence[tuple[str, str]]) -> WrittenOptions:
        parts: list[str] = []
        spans: dict[str, tuple[tuple[int, int, str], ...]] = {}
        at = 0
        for value, label in choices:
            text = escape(label or value)
            plain = f"<option {attributes({'value': value})}>{text}</option>"
            selected = f"<option {attributes({'value': value, 'selected': True})}>{text}</option>"
            spans[value] = (*spans.get(value, ()), (at, at + len(plain), selected))
            parts.append(plain)
            at += len(plain)
        return cls("".join(parts), spans)

    def with_chosen(self, values: set[str]) -> str:
        """The options with those of `values` selected."""
        picked = sorted(span for value in values for span in self.spans.get(value, ()))
        parts, at = [], 0
        for start, end, selected in picked:
            parts += [self.plain[at:start], selected]
            at = end
        return "".join([*parts, self.plain[at:]]) if picked else self.plain


class PortalSelectField(ChoiceCheck, SelectField):
    widget = OptionsOnce()


class PortalMultiField(ChoiceCheck, SelectMultipleField):
    widget = OptionsOnce(multiple=True)


class VisibleText:
    """Refuse control characters and invisible formatting ones (NUL, ESC,
    bidirectional overrides, zero-width spaces) that would be stored in the
    CRM unseen: they come with pasted text, or with an attack on whoever
    reads the CRM. Line breaks and tabs are text in a multi-line field."""

    def __init__(self, multiline: bool = False) -> None:
        self.allowed = frozenset("\n\r\t") if multiline else frozenset()

    def __call__(self, form: BaseForm, field: Field) -> None:
        if isinstance(field.data, str) and any(
                unicodedata.category(c) in INVISIBLE and c not in self.allowed for c in field.data):
            raise ValidationError(str(_l(
                "Remove the invisible or control characters from this text: they may have "
                "come with something you pasted.")))


def visible(text: str) -> str:
    """`text` without control and invisible characters (for what other systems send)."""
    return "".join(c for c in text if unicodedata.category(c) not in INVISIBLE)


@lru_cache(maxsize=8)
def country_choices(language: str) -> tuple[tuple[str, str], ...]:
    """(code, name) of every country, named and sorted in `language`; built
    once per language, as the list does not change while the portal runs."""
    names = Locale.parse(language).territories
    codes = [code for code in names if isinstance(code, str) and len(code) == 2
             and code.isalpha() and code not in NOT_COUNTRIES]
    return tuple(sorted(((code, names[code]) for code in codes),
                        key=lambda c: collation_key(c[1], language)))


def collation_key(text: str, language: str) -> tuple[str, str, str]:
    """A sort key that orders names as ICU does in the portal's languages:
    letters first without case or accents (Å with A, á with a), accents only
    to break ties, spaces and punctuation before any letter; Spanish keeps ñ
    a letter of its own, after n."""
    letters: list[str] = []
    for char in unicodedata.normalize("NFD", text.casefold()):
        if not unicodedata.combining(char):
            letters.append(char if char.isalnum() else " ")
        elif char == TILDE and language == "es" and letters and letters[-1] == "n":
            letters[-1] = "n" + AFTER_EVERY_LETTER
    return "".join(letters), text.casefold(), text
