"""Consent records: every join and leave, through every door, stored with
the wording shown, the door, the language and the legal basis, and agreeing
with what the CRM holds; the CRM gets the same record; `portal consent
export` proves it."""

from __future__ import annotations

import json

import pytest

from portal.crm.base import Change, Profile
from portal.rights.records import submit_recorded
from tests.conftest import sign_in
from tests.rights.conftest import (
    DEMO,
    contact,
    crm,
    newsletter_client,
    rows,
    save,
    subscribed,
    wordpress_client,
)


def latest_choice(app) -> dict[str, str]:
    """Each item's newest consent record: joined or left."""
    latest: dict[str, str] = {}
    for record in sorted(rows(app, "consent_records"), key=lambda r: (r["at"], r["id"])):
        latest[record["item_key"]] = record["action"]
    return latest


def agrees_with_the_crm(app) -> None:
    held = subscribed(app)
    for key, action in latest_choice(app).items():
        assert (key in held) == (action == "joined"), (key, action, held)


@pytest.mark.parametrize("door", ["link", "newsletter", "wordpress"])
def test_the_records_agree_with_the_crm_after_joins_and_leaves_through_each_door(
        door, make_app, smtp, monkeypatch):
    from portal.config.wordpress import ASSERTION_SECRET_ENV
    from tests.rights.conftest import WORDPRESS
    from tests.wordpress.assertions import SECRET

    monkeypatch.setenv(ASSERTION_SECRET_ENV, SECRET)
    app = make_app(append=WORDPRESS)
    if door == "link":
        browser = app.test_client()
        sign_in(browser, smtp)
    else:
        browser = newsletter_client(app) if door == "newsletter" else wordpress_client(app)
    assert subscribed(app) == {"weekly", "account_notices", "volunteering"}
    save(browser, lang="eu", sub_events="y", sub_weekly=None)
    save(browser, lang="eu", sub_weekly="y", sub_courses="y", sub_account_notices=None)
    save(browser, lang="eu", sub_volunteering=None)
    agrees_with_the_crm(app)
    records = rows(app, "consent_records")
    assert [(r["item_key"], r["action"]) for r in records] == [
        ("events", "joined"), ("weekly", "left"), ("weekly", "joined"), ("courses", "joined"),
        ("account_notices", "left"), ("volunteering", "left")]
    ref = contact(app).ref
    assert {(r["contact_ref"], r["door"], r["language"]) for r in records} == {(ref, door, "eu")}
    basis = {r["item_key"]: r["legal_basis"] for r in records}
    assert basis["account_notices"] == "contract" and basis["events"] == "consent"
    assert {r["item"] for r in records if r["item_key"] == "courses"} == {"tag:interest-courses"}


def test_the_exact_wording_is_kept_once_per_text(signed, smtp, app):
    save(signed, lang="eu", sub_events="y")
    save(signed, lang="eu", sub_events=None)
    save(signed, lang="es", sub_events="y")
    texts = {t["hash"]: t for t in rows(app, "consent_texts")}
    assert len(texts) == 2  # the Basque wording once, the Spanish once
    by_language = {r["language"]: texts[r["text_hash"]] for r in rows(app, "consent_records")}
    assert (by_language["eu"]["label"], by_language["eu"]["description"]) == \
        ("Ekitaldien agenda", "Kontzertuak, hitzaldiak eta tailerrak zure inguruan.")
    assert by_language["es"]["label"] == "Agenda de eventos"


def test_the_crm_keeps_the_same_record_in_a_note(signed, app):
    save(signed, lang="en", sub_events="y")
    notes = crm(app).notes_of(contact(app).ref)
    record = [n for n in notes if "Agenda de eventos (list:2)" in n["body"]]
    assert len(record) == 1  # in the portal's default language, for the staff
    stored = rows(app, "consent_records")[0]
    body = record[0]["body"]
    assert stored["text_hash"][:16] in body
    assert "«Events calendar» «Concerts, talks and workshops near you.»" in body  # as shown
    assert "consent" in body


def test_unsubscribing_from_all_records_every_leave(signed, app):
    from tests.conftest import csrf_token

    page = signed.get("/profile/unsubscribe-all")
    signed.post("/profile/unsubscribe-all", data={"csrf_token": csrf_token(page.data)})
    # The member's notices and the interests (tags) are not reached by it: only what it leaves.
    assert sorted(latest_choice(app).items()) == [("weekly", "left")]
    agrees_with_the_crm(app)
    assert [e["event"] for e in rows(app, "change_events")] == ["unsubscribed_all"]


def test_another_door_records_its_consents_with_one_call(app):
    """What a one-click unsubscribe does: one call, its own door name."""
    config = app.config["PORTAL"]
    weekly = next(i for i in config.items() if i.key == "weekly")
    ane = contact(app)
    with app.test_request_context():
        result = submit_recorded(ane, Profile(ane, subscribed=frozenset({weekly.item})),
                                 Change(ane.ref, ane.email, leave=(weekly.item,)),
                                 door="one-click", language="es")
    assert result.outcome.value == "applied"
    assert "weekly" not in subscribed(app)
    (record,) = rows(app, "consent_records")
    assert (record["item_key"], record["action"], record["door"]) == ("weekly", "left", "one-click")


def test_consent_export_proves_what_the_contact_agreed_to(signed, app):
    save(signed, lang="eu", sub_events="y")
    result = app.test_cli_runner().invoke(args=["consent", "export", "--contact", DEMO])
    assert result.exit_code == 0, result.output
    proof = json.loads(result.output)
    assert proof["crm_refs"] == [contact(app).ref]
    (record,) = proof["consent_records"]
    assert record["item"] == "events" and record["action"] == "joined"
    assert record["door"] == "link" and record["language"] == "eu"
    assert record["legal_basis"] == "consent" and record["crm_item"] == "list:2"
    assert record["wording"]["label"] == "Ekitaldien agenda"
    assert len(record["wording"]["sha256"]) == 64
    nobody = app.test_cli_runner().invoke(args=["consent", "export"])
    assert nobody.exit_code != 0 and "--contact" in nobody.output


def test_items_rest_on_the_legal_basis_marketing_sets(tmp_path):
    from portal.config import ConfigError, load_config
    from tests.support.config import demo_config

    path = demo_config(tmp_path, replace={'legal_basis = "contract"': 'legal_basis = "because"'})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert any("legal_basis" in p and "public_task" in p for p in caught.value.problems)


def test_the_rights_section_is_checked(tmp_path):
    from portal.config import ConfigError, load_config
    from tests.support.config import demo_config

    path = demo_config(tmp_path, replace={
        'data_protection_email = "privacidad@example.org"':
        'data_protection_email = "nobody"\nhistory_days = 0\nreceits = true'})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = "\n".join(caught.value.problems)
    assert "rights.data_protection_email" in problems and "rights.history_days" in problems
    assert "rights.receits: is not a setting" in problems
