"""The profile's selects render their options once per list of choices, and
say exactly what WTForms' own select says: the same options, the same chosen
one, everything escaped."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.widgets import Select

from portal.fields.widgets import PortalMultiField, PortalSelectField, country_choices


def options(pairs):
    return [SelectChoice(value, label) for value, label in pairs]


def forms():
    class Form(FlaskForm):
        country = PortalSelectField("Country", choices=options([("", "—"), *country_choices("eu")]))
        tricky = PortalSelectField("Tricky", choices=options([("a&b", "<b>A & B</b>"),
                                                              ('"q"', "Quote")]))
        topics = PortalMultiField("Topics", choices=options([("music", "Music"),
                                                            ("theatre", "Theatre")]))

    return Form


@pytest.mark.parametrize(("field", "data"), [
    ("country", "FR"), ("country", ""), ("country", None), ("tricky", "a&b"), ("tricky", '"q"'),
    ("topics", ["theatre"]), ("topics", []), ("topics", ["music", "theatre"]),
])
def test_a_select_says_what_wtforms_says(field, data):
    app = Flask("select")
    app.config.update(SECRET_KEY="x", WTF_CSRF_ENABLED=False)
    with app.test_request_context():
        form = forms()(data={field: data})
        bound = form[field]
        wtforms_own = Select(multiple=field == "topics")(bound, required=False)
        assert bound(required=False) == wtforms_own
        assert bound(class_="wide") == Select(multiple=field == "topics")(bound, class_="wide")
