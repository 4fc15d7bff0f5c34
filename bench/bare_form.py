"""The yardstick of the page benchmark: a bare 20-field Flask-WTF form, the
least a page that shows a form can cost, served the way the portal is."""

from __future__ import annotations

import os

from flask import Flask, render_template
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField

app = Flask(__name__, template_folder="templates")
app.config["SECRET_KEY"] = os.environ.get("BENCH_SECRET", "bench-only-secret")


class TwentyFields(FlaskForm):
    pass


for n in range(14):
    setattr(TwentyFields, f"text{n}", StringField(f"Text {n}"))
for n in range(4):
    setattr(TwentyFields, f"box{n}", BooleanField(f"Box {n}"))
for n in range(2):
    setattr(TwentyFields, f"pick{n}", SelectField(f"Pick {n}", choices=[("a", "A"), ("b", "B")]))


@app.get("/")
def page() -> str:
    return render_template("bare_form.html", form=TwentyFields())
