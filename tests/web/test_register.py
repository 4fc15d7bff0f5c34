"""Registering: an unknown address asking for a link gets the same answer as
a contact's and a link to the register page; the page shows the legal text,
the privacy policy and every subscription unticked; sending it creates the
contact with what was chosen, records the consents (door "register") and
signs the new contact in."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from portal.auth.doors import doors
from portal.crm.base import ItemRef
from portal.db import database
from portal.db.models import SignInLink, utcnow
from portal.delivery import delivery
from tests.conftest import csrf_token
from tests.rights.conftest import rows
from tests.support.smtp import Inbox
from tests.web.test_sign_in_requests import ask

REGISTER = """
[register]
enabled = true
fields = ["first_name", "last_name", "sector"]
tags = ["registered"]
legal.es = "Tratamos tus datos para enviarte lo que elijas. Responsable: Demo Elkartea."
legal.eu = "Zure datuak aukeratzen duzuna bidaltzeko erabiltzen ditugu. Arduraduna: Demo Elkartea."
legal.en = "We process your data to send you what you choose. Controller: Demo Elkartea."
"""
NEW = "new.person@example.org"


def register_link(smtp: Inbox, email: str = NEW, count: int = 1) -> str:
    body = smtp.wait_for(email, count=count)[-1].get_body(("plain",)).get_content()
    found = re.search(r"https?://\S+/register/\S+", body)
    assert found, body
    return "/" + found.group(0).split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def app(make_app):
    return make_app(append=REGISTER)


def open_page(client, path: str, lang: str = "en"):
    page = client.get(f"{path}?lang={lang}")
    assert page.status_code == 200, page.data[:300]
    return page


def test_an_unknown_address_gets_the_same_answer_and_a_register_link(app, smtp):
    known, unknown = ask(app.test_client(), "demo@example.org"), ask(app.test_client(), NEW)
    assert known.status_code == unknown.status_code == 200
    assert known.data.replace(b"demo@example.org", b"X") == unknown.data.replace(NEW.encode(), b"X")
    assert "/register/" in register_link(smtp)
    sign_in_mail = smtp.wait_for("demo@example.org")[0].get_body(("plain",)).get_content()
    assert "/link/" in sign_in_mail and "/register/" not in sign_in_mail


def test_without_register_an_unknown_address_gets_nothing(make_app, smtp):
    app = make_app()
    ask(app.test_client(), NEW)
    ask(app.test_client(), "demo@example.org")
    smtp.wait_for("demo@example.org")
    time.sleep(0.3)
    assert smtp.sent_to(NEW) == []


def test_the_page_shows_the_legal_text_the_privacy_policy_and_unticked_boxes(app, smtp):
    client = app.test_client()
    ask(client, NEW)
    html = open_page(client, register_link(smtp), "eu").data.decode()
    assert "Zure datuak aukeratzen duzuna bidaltzeko erabiltzen ditugu." in html
    assert 'href="https://www.example.org/eu/pribatutasuna/"' in html
    boxes = re.findall(r'<input[^>]*type="checkbox"[^>]*>', html)
    assert len(boxes) >= 6  # each item of the demo and the legal notice
    assert not [box for box in boxes if "checked" in box]
    for name in ("first_name", "last_name", "sector"):
        assert f'name="{name}"' in html
    assert 'name="phone"' not in html and 'name="email"' not in html
    assert '<label for="first_name">' in html


def test_registering_creates_the_contact_records_the_consents_and_signs_in(app, smtp):
    client = app.test_client()
    ask(client, NEW)
    path = register_link(smtp)
    page = open_page(client, path)
    done = client.post(path, data={"csrf_token": csrf_token(page.data), "first_name": "Miren",
                                   "last_name": "Agirre", "sector": "culture",
                                   "sub_weekly": "y", "sub_courses": "y", "accept": "y"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/profile/")
    crm = delivery(app).crm
    contact = crm.find_contact(NEW)
    assert contact is not None and contact.name == "Miren Agirre"
    assert {"registered", "interest-courses", "welcome-weekly"} <= crm.tags_of(contact.ref)
    profile = open_page(client, "/profile/").data.decode()
    assert NEW in profile and 'value="Miren"' in profile
    assert re.search(r'<input[^>]*checked[^>]*name="sub_weekly"|<input[^>]*name="sub_weekly"'
                     r'[^>]*checked', profile)
    records = [r for r in rows(app, "consent_records") if r["contact_ref"] == contact.ref]
    assert {(r["item_key"], r["action"], r["door"]) for r in records} == {
        ("weekly", "joined", "register"), ("courses", "joined", "register")}
    assert client.get(path).status_code == 410  # single use


def test_the_legal_box_is_required_and_what_was_typed_is_kept(app, smtp):
    client = app.test_client()
    ask(client, NEW)
    path = register_link(smtp)
    page = open_page(client, path)
    answer = client.post(path, data={"csrf_token": csrf_token(page.data), "first_name": "Miren",
                                     "sub_events": "y"})
    assert answer.status_code == 400
    html = answer.data.decode()
    assert 'href="#accept"' in html and 'aria-invalid="true"' in html
    assert 'value="Miren"' in html
    assert re.search(r'<input[^>]*checked[^>]*name="sub_events"|<input[^>]*name="sub_events"'
                     r'[^>]*checked', html)
    assert delivery(app).crm.find_contact(NEW) is None
    missing_name = client.post(path, data={"csrf_token": csrf_token(page.data), "accept": "y",
                                           "last_name": "Agirre"})
    assert missing_name.status_code == 400
    assert 'href="#first_name"' in missing_name.data.decode()
    both = client.post(path, data={"csrf_token": csrf_token(page.data)}).data.decode()
    assert both.index('href="#first_name"') < both.index('href="#accept"')  # in the page's order
    assert 'value="Agirre"' in missing_name.data.decode()
    assert delivery(app).crm.find_contact(NEW) is None


def test_a_forged_field_is_refused(app, smtp):
    client = app.test_client()
    ask(client, NEW)
    path = register_link(smtp)
    page = open_page(client, path)
    answer = client.post(path, data={"csrf_token": csrf_token(page.data), "first_name": "Miren",
                                     "accept": "y", "member_number": "0001"})
    assert answer.status_code == 400
    assert delivery(app).crm.find_contact(NEW) is None


def test_a_used_or_expired_link_is_refused_kindly(app, smtp):
    client = app.test_client()
    ask(client, NEW)
    path = register_link(smtp)
    ask(client, NEW)  # a newer link replaces it
    newer = register_link(smtp, count=2)
    replaced = client.get(path + "?lang=en")
    assert replaced.status_code == 410 and "already been used" in replaced.data.decode()
    with app.app_context(), database().transaction() as db:
        db.execute(update(SignInLink).values(expires_at=utcnow() - timedelta(minutes=1)))
    expired = client.get(newer + "?lang=en")
    assert expired.status_code == 410 and "has expired" in expired.data.decode()
    assert 'name="email"' in expired.data.decode()  # a form to ask for a new link


def test_an_address_that_became_a_contact_meanwhile_is_signed_in(app, smtp):
    client = app.test_client()
    ask(client, NEW)
    path = register_link(smtp)
    page = open_page(client, path)
    delivery(app).crm.create_contact(NEW, "Miren Agirre")  # by another door
    done = client.post(path, data={"csrf_token": csrf_token(page.data), "first_name": "Miren",
                                   "accept": "y"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/profile/")
    assert len(delivery(app).crm.find_contacts(NEW)) == 1


def test_crm_down_keeps_what_was_typed(portal_for, ac, smtp):
    """A fake ActiveCampaign over loopback that stops answering, then comes back."""
    app = portal_for(resilience={"limiter": False}, extra="""
[register]
enabled = true
fields = ["first_name"]
legal = "We keep your data to send you what you choose."
""")
    client = app.test_client()
    ask(client, NEW)
    path = register_link(smtp)
    page = open_page(client, path)
    ac.server.go_down()
    answer = client.post(path + "?lang=eu", data={
        "csrf_token": csrf_token(page.data), "first_name": "Miren", "sub_weekly": "y",
        "accept": "y"})
    assert answer.status_code == 503
    html = answer.data.decode()
    assert "Ezin izan dizugu izena eman oraintxe." in html and 'value="Miren"' in html
    assert re.search(r'<input[^>]*checked[^>]*name="sub_weekly"|<input[^>]*name="sub_weekly"'
                     r'[^>]*checked', html)
    again = re.search(r' action="(/register/[^"]+)"', html).group(1)
    ac.server.come_back()
    done = client.post(again, data={"csrf_token": csrf_token(html), "first_name": "Miren",
                                    "sub_weekly": "y", "accept": "y"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/profile/")
    contact = delivery(app).crm.find_contact(NEW)
    assert contact is not None
    assert ItemRef("list", ac.weekly) in delivery(app).crm.fetch_profile(
        contact, [], [ItemRef("list", ac.weekly)]).subscribed


def test_register_links_are_not_sign_in_links(app, smtp):
    client = app.test_client()
    ask(client, NEW)
    token = register_link(smtp).rsplit("/", 1)[1]
    assert client.get(f"/link/{token}").status_code == 400
    with app.app_context():
        assert doors().links.check(token).state.value == "invalid"


@pytest.mark.parametrize("setting, problem", [
    ('[register]\nenabled = true\nlegal = "x"\nfields = ["nope"]', 'names "nope"'),
    ('[register]\nenabled = true\nlegal = "x"\nfields = ["email"]', "proved the address"),
    ('[register]\nenabled = true\nlegal.es = "x"', "legal"),
    ('[register]\nenabled = true\nlegal = "x"\ncolour = 1', "register.colour"),
])
def test_wrong_register_settings_are_reported(tmp_path, setting, problem):
    from portal.config import ConfigError, load_config
    from tests.support.config import demo_config

    with pytest.raises(ConfigError) as refused:
        load_config(demo_config(tmp_path, append=setting))
    assert any(problem in line for line in refused.value.problems), refused.value.problems
