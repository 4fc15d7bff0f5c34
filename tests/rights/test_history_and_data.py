""""My history" and "My data": the contact's changes in their language, and
everything the portal shows and keeps about them, as a readable page and as
JSON; only from a door that proved the mailbox, and a few times an hour."""

from __future__ import annotations

import json
import re

from tests.conftest import sign_in
from tests.rights.conftest import DEMO, newsletter_client, save

FEW_DOWNLOADS = {'erasure_tags = ["erasure-requested"]':
                 'erasure_tags = ["erasure-requested"]\ndata_downloads_per_hour = 2'}


def test_my_history_lists_my_changes_newest_first_in_my_language(signed, app):
    save(signed, lang="es", first_name="Ane Miren", sub_events="y")
    save(signed, lang="es", sub_weekly=None)
    page = signed.get("/rights/history?lang=eu").get_data(as_text=True)
    entries = re.findall(r'<li class="card">(.*?)</li>', page, re.S)
    assert len(entries) == 2
    newest, oldest = entries
    assert "Asteko buletina" in newest and "Izena" not in newest
    assert "Izena" in oldest and "Ekitaldien agenda" in oldest  # field and item labels in Basque
    assert "posta elektronikoz bidalitako esteka" in oldest  # the door, in Basque
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT', oldest)
    assert 'lang="eu"' in page


def test_from_a_newsletter_link_the_history_names_no_personal_fields(signed, app):
    save(signed, lang="en", first_name="Ane Miren", sub_events="y")
    page = newsletter_client(app).get("/rights/history?lang=en").get_data(as_text=True)
    assert "Events calendar" in page
    assert "First name" not in page and "Ane Miren" not in page


def test_my_data_as_a_page_and_as_json(signed, app):
    save(signed, lang="en", sub_events="y")
    page = signed.get("/rights/my-data?lang=en").get_data(as_text=True)
    for shown in ("Etxeberria", "0042", "Culture", "+34 600 000 000", "Events calendar",
                  "subscribed", "your consent", "a contract with you",
                  "Concerts, talks and workshops near you.", "privacidad@example.org"):
        assert shown in page, shown
    answer = signed.get("/rights/my-data.json?lang=en")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.headers["Content-Disposition"].startswith('attachment; filename="my-data-')
    data = json.loads(answer.get_data(as_text=True))
    assert data["contact"]["email"] == DEMO and data["crm"] == {"answered": True}
    fields = {f["key"]: f["value"] for f in data["fields"]}
    assert fields["last_name"] == "Etxeberria" and fields["topics"] == ["music", "literature"]
    subscriptions = {s["key"]: (s["subscribed"], s["legal_basis"]) for s in data["subscriptions"]}
    assert subscriptions["events"] == (True, "consent")
    assert subscriptions["account_notices"] == (True, "contract")
    assert data["email_languages"] == ["es", "eu"]
    (record,) = data["consent_records"]
    assert record["item"] == "events" and record["wording"]["label"] == "Events calendar"
    assert [h["what"] for h in data["history"]] == ["Changes saved"]
    assert data["sessions"] and data["sessions"][0]["door"] == "an emailed link"


def test_a_newsletter_link_reaches_neither_my_data_nor_forget_me(app):
    reader = newsletter_client(app)
    for path in ("/rights/my-data", "/rights/my-data.json", "/rights/forget",
                 "/rights/forget/confirm"):
        answer = reader.get(path + "?lang=en")
        assert answer.status_code == 403, path
        assert "Email me a link" in answer.get_data(as_text=True)
        assert DEMO not in answer.get_data(as_text=True)


def test_downloads_are_limited_per_hour(make_app, smtp):
    app = make_app(replace=FEW_DOWNLOADS)
    client = app.test_client()
    sign_in(client, smtp)
    assert client.get("/rights/my-data").status_code == 200
    assert client.get("/rights/my-data.json").status_code == 200
    refused = client.get("/rights/my-data.json?lang=en")
    assert refused.status_code == 429
    assert "allowed in an hour (2)" in refused.get_data(as_text=True)
    assert client.get("/rights/history").status_code == 200  # the history is not a download
