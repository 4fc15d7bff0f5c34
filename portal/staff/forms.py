"""The workspace's forms. Editing forms carry only their CSRF token: the
values are read as typed (portal.staff.editing) and checked by the
configuration's own reading, so a mistake is shown, never lost."""

from __future__ import annotations

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional


class StaffEmailForm(FlaskForm):
    email = EmailField(
        _l("Your work email address"),
        validators=[DataRequired(message=_l("Please type your email address.")),
                    Length(max=254, message=_l("This email address is too long.")),
                    Email(message=_l("This does not look like an email address. Check it, please."))],
        render_kw={"autocomplete": "email", "inputmode": "email"})


class TokenForm(FlaskForm):
    """Only the CSRF token: for buttons that change something."""


def require_token() -> None:
    """Refuse a workspace form sent without its CSRF token (another site's, an old one)."""
    if not TokenForm().validate_on_submit():
        abort(400)


class PublishForm(FlaskForm):
    note = TextAreaField(_l("What changes, in a sentence (shown in the history)"),
                         validators=[Length(max=500, message=_l("Use at most %(max)d characters.",
                                                                max=500))])


class SampleForm(FlaskForm):
    """Which contact the preview shows: one from the CRM, read only, or made-up values."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    sample = StringField(_l("A test contact's email (empty: made-up values)"),
                         validators=[Optional(), Length(max=254, message=_l(
                             "This email address is too long."))],
                         render_kw={"autocomplete": "off", "inputmode": "email"})
