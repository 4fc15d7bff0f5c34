"""`demo seed`: the demo CRM's contents, the fields and lists
config/demo.toml exposes and a few contacts, `demo@example.org` first."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from portal.crm.base import Change, FieldRef, FieldUpdate, ItemRef, Value
from portal.crm.local import LocalCrm
from portal.delivery import delivery

demo = AppGroup("demo", help="The demo on the embedded CRM.")

FIELDS = [
    ("first_name", "First name", "text", ()),
    ("last_name", "Last name", "text", ()),
    ("phone", "Phone", "tel", ()),
    ("birth_date", "Date of birth", "date", ()),
    ("country", "Country", "country", ()),
    ("sector", "Sector", "select",
     (("education", "Education"), ("culture", "Culture"), ("industry", "Industry"),
      ("other", "Other"))),
    ("topics", "Topics", "multiselect",
     (("music", "Music"), ("theatre", "Theatre"), ("literature", "Literature"))),
    ("sms_ok", "SMS consent", "checkbox", ()),
    ("member_number", "Member number", "text", ()),
    ("languages", "Languages", "multiselect", (("es", "es"), ("eu", "eu"), ("en", "en"))),
    ("portal_last_changed", "Last changed in the portal", "date", ()),
    ("portal_token", "Preference portal token", "text", ()),
    ("email_frequency", "Email frequency", "select",
     (("monthly", "Once a month"), ("quarterly", "Once every three months"))),
    ("emails_paused_until", "Emails paused until", "date", ()),
    ("leave_reason", "Reason for unsubscribing", "select",
     (("too_many", "Too many emails"), ("not_relevant", "Not relevant"),
      ("never_signed_up", "Never signed up"), ("other", "Other"))),
]
LISTS = [("1", "Weekly newsletter"), ("2", "Events calendar"), ("3", "Membership notices")]

# (email, name, field values, list ids, tags)
CONTACTS: list[tuple[str, str, dict[str, Value], list[str], list[str]]] = [
    ("demo@example.org", "Ane Demo", {
        "first_name": "Ane", "last_name": "Etxeberria", "phone": "+34 600 000 000",
        "birth_date": "1990-05-31", "country": "ES", "sector": "culture",
        "topics": ["music", "literature"], "sms_ok": True, "member_number": "0042",
        "languages": ["eu", "es"],
    }, ["1", "3"], ["interest-volunteering"]),
    ("jon@example.org", "Jon Demo", {
        "first_name": "Jon", "last_name": "Garcia", "country": "FR", "languages": ["es"],
        "member_number": "0043",
    }, ["2"], []),
]


def seed(crm: LocalCrm) -> list[str]:
    """Create the demo data once; running it again changes nothing. Returns
    the emails of the contacts created this time."""
    for key, label, kind, choices in FIELDS:
        crm.define_field(key, label, kind, choices, read_only=key == "member_number")
    for list_id, name in LISTS:
        crm.define_list(list_id, name)
    created = []
    for email, name, values, lists, tags in CONTACTS:
        if crm.find_contacts(email):
            continue
        contact = crm.create_contact(email, name)
        types = {key: kind for key, _label, kind, _choices in FIELDS}
        crm.apply(Change(
            contact_ref=contact.ref, email=email,
            fields=tuple(FieldUpdate(FieldRef(k, types[k]), v) for k, v in values.items()),
            join=tuple(ItemRef("list", list_id) for list_id in lists)
            + tuple(ItemRef("tag", tag) for tag in tags),
        ))
        created.append(email)
    return created


def seed_on_start(app: Flask) -> None:
    """The demo fills its embedded CRM when it starts, so that it can be used
    at once, however it was started (`make run`, `gunicorn 'portal:create_app()'`)."""
    crm = delivery(app).crm
    if isinstance(crm, LocalCrm):
        seed(crm)


@demo.command("seed")
def seed_demo() -> None:
    """Fill the embedded demo CRM with its fields, lists and contacts."""
    crm = delivery().crm
    if not isinstance(crm, LocalCrm):
        raise click.ClickException("The demo seeds only the embedded CRM (type = \"local\").")
    created = seed(crm)
    click.echo(f"Demo CRM ready at {crm.path}" + (f"; added {', '.join(created)}" if created else ""))
    click.echo("Sign in as demo@example.org: the sign-in link is printed here and saved as "
               ".eml in the instance folder.")
