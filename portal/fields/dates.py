"""Dates as contacts read and type them: bounds a date must keep to, and
the long form of a date in each language."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from babel.dates import format_date
from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms import Field
from wtforms.form import BaseForm
from wtforms.validators import ValidationError

# "1990-05-31", "today", "today+30", "today-36500"
BOUND = re.compile(r"^(?:(?P<iso>\d{4}-\d{2}-\d{2})|today(?:(?P<days>[+-]\d{1,6}))?)$")


def bound_problem(text: str) -> str:
    """What is wrong with a date bound from the configuration, or ""."""
    match = BOUND.match(text)
    if match is None:
        return 'must be a date like "1990-05-31", or "today", "today+30", "today-36500" (days)'
    if match["iso"]:
        try:
            dt.date.fromisoformat(match["iso"])
        except ValueError:
            return f'"{text}" is not a date in the calendar'
    return ""


def bound_date(text: str | None, today: dt.date | None = None) -> dt.date | None:
    """The date a bound stands for today (None for no bound)."""
    match = BOUND.match(text or "")
    if match is None:
        return None
    if match["iso"]:
        return dt.date.fromisoformat(match["iso"])
    return (today or dt.date.today()) + dt.timedelta(days=int(match["days"] or 0))


def long_date(value: dt.date, language: str | None = None) -> str:
    """A date in words, in `language` (the contact's by default). CLDR's Basque
    pattern leaves the suffixes undecided ("1990(e)ko maiatzaren 31(a)"): they
    are chosen here by how the year is said."""
    language = language or str(get_locale() or "en")
    if language != "eu":
        return format_date(value, "long", locale=language)
    month = format_date(value, "MMMM", locale="eu")
    return f"{value.year}{basque_year_suffix(value.year)} {month}ren {value.day}"


def basque_year_suffix(year: int) -> str:
    """"-ko" after a year said ending in a vowel (2024: "bi mila eta hogeita lau"),
    "-eko" after one ending in a consonant (1990: "... laurogeita hamar")."""
    last = year % 100
    if last:
        # Basque counts in twenties: the last word is the number left under twenty.
        return "eko" if last % 20 in (1, 5, 10, 15) else "ko"  # bat, bost, hamar, hamabost
    return "eko" if year % 1000 else "ko"  # "... ehun" (a hundred), "... mila" (a thousand)


class DateBounds:
    """Refuse a date outside the field's bounds, saying which dates are allowed."""

    def __init__(self, earliest: str | None, latest: str | None) -> None:
        self.earliest = earliest
        self.latest = latest

    def __call__(self, form: BaseForm, field: Field) -> None:
        value: Any = field.data
        if not isinstance(value, dt.date):
            return
        low, high = bound_date(self.earliest), bound_date(self.latest)
        if (low is None or value >= low) and (high is None or value <= high):
            return
        if low is not None and high is not None:
            message = _("Choose a date from %(earliest)s to %(latest)s.",
                         earliest=long_date(low), latest=long_date(high))
        elif high is not None:
            message = _("Choose a date no later than %(latest)s.", latest=long_date(high))
        else:
            assert low is not None
            message = _("Choose a date no earlier than %(earliest)s.", earliest=long_date(low))
        raise ValidationError(str(message))

    @property
    def field_flags(self) -> dict[str, dt.date]:
        """The bounds as the date input's min and max, for the browser's date
        picker. WTForms reads them each time it binds the field, once a page:
        "today" is today's, also where the form's class is kept for long."""
        found = {"min": bound_date(self.earliest), "max": bound_date(self.latest)}
        return {name: day for name, day in found.items() if day is not None}
