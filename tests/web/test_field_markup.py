"""The pages write each control themselves (portal.fields.markup), and say
exactly what WTForms' own widgets say: the same attributes in the same
order, the value, the flags its validators set, everything escaped."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from flask_babel import Babel
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField

from portal.config.model import FieldSpec
from portal.fields import FIELDS
from portal.fields.markup import control

TRICKY = 'Ane "<b>" & Jon\'s'


def spec(kind: str, **more) -> FieldSpec:
    return FieldSpec(key=kind, crm_field=kind, type=kind, label={"en": kind}, **more)


def form_class():
    class Form(FlaskForm):
        text = FIELDS["text"].make_field(spec("text", required=True, max_length=80,
                                              autocomplete="given-name"), "Name", "", ())
        email = FIELDS["email"].make_field(spec("email"), "Email", "", ())
        tel = FIELDS["tel"].make_field(spec("tel", pattern="^[0-9 +]+$"), "Phone", "", ())
        date = FIELDS["date"].make_field(spec("date", earliest="1900-01-01", latest="today"),
                                         "Born", "", ())
        box = FIELDS["checkbox"].make_field(spec("checkbox", required=True), "SMS", "", ())
        note = FIELDS["textarea"].make_field(spec("textarea", max_length=2000), "Note", "", ())
        plain = StringField("Plain", render_kw={"data_role": "x", "inputmode": "email"})
        loose = BooleanField("Loose")

    return Form


def bare_app() -> Flask:
    app = Flask("markup")
    app.config.update(SECRET_KEY="x", WTF_CSRF_ENABLED=False)
    Babel(app)  # the validators' messages
    return app


@pytest.mark.parametrize(("field", "data"), [
    ("text", TRICKY), ("text", None), ("email", "a@b.org"), ("tel", "+34 600"),
    ("date", dt.date(1990, 5, 31)), ("date", None), ("box", True), ("box", False),
    ("note", f"line\n{TRICKY}"), ("note", None), ("plain", "x"), ("loose", True),
])
@pytest.mark.parametrize("extra", [
    {}, {"aria_describedby": "x-help x-error", "aria_invalid": "true", "aria_required": False},
    {"class_": "wide", "value": '"given"', "required": False},
])
def test_a_control_says_what_wtforms_says(field, data, extra):
    with bare_app().test_request_context():
        bound = form_class()(data={field: data})[field]
        assert control(bound, **extra) == bound(**extra)


def test_a_typed_value_is_shown_as_typed():
    """A value the form refused comes back as the contact typed it."""
    with bare_app().test_request_context(method="POST", data={"date": "31/05/1990", "text": TRICKY}):
        form = form_class()()
        form.validate()
        for name in ("date", "text"):
            assert control(form[name], aria_invalid="true") == form[name](aria_invalid="true")
        assert 'value="31/05/1990"' in control(form["date"])
