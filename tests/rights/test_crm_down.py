"""The rights while the CRM is down (a fake ActiveCampaign over loopback that
stops answering): an erasure waits in the queue and loses nothing, a
download holds what the portal keeps and says what is missing, an address
confirmation can be tried again; the contact is told the truth each time."""

from __future__ import annotations

import json

from portal.delivery import delivery
from tests.conftest import csrf_token
from tests.resilience.conftest import EMAIL, save, signed_in_client, wait_until
from tests.rights.conftest import link_to, press, rows, text_of, titled
from tests.rights.test_erasure import forget

NO_LIMITER = {"limiter": False}  # the CRM is down or it is not: no budget in between
RIGHTS = """
[rights]
data_protection_email = "dpo@example.org"
erasure_tags = ["erasure-requested"]

[[fields]]
key = "email"
crm_field = "email"
type = "email"
label = "Email"
"""


def test_forget_me_while_the_crm_is_down_is_queued_and_nothing_is_lost(portal_for, ac, smtp):
    app = portal_for(extra=RIGHTS, resilience=NO_LIMITER)
    client = signed_in_client(app, smtp)
    save(client, ac, lists=("weekly",))
    assert ac.lists() == {ac.weekly}
    ac.server.go_down()
    page = forget(client)
    assert "not answering right now" in page and "nothing is lost" in page
    request = text_of(smtp.wait_for("dpo@example.org")[-1])
    assert "waits in the portal's queue" in request
    ack = text_of(titled(smtp, EMAIL, "We have received your request to be forgotten"))
    assert "not answering at that moment" in ack
    (entry,) = delivery(app).ledger.entries()
    assert entry.change.erase and entry.change.unsubscribe_all
    assert [p["crm_outcome"] for p in rows(app, "erasures")] == ["queued"]
    assert rows(app, "consent_records") == []
    ac.server.come_back()
    delivery(app).queue.start_worker()
    wait_until(lambda: not delivery(app).ledger.entries(), what="the erasure to reach the CRM")
    assert ac.lists() == set()
    assert "erasure-requested" in ac.state.tags_of(ac.contact)
    assert [n for n in ac.notes() if "to be forgotten (GDPR article 17)" in n]  # in English,
    # the configuration's default language, for the staff


def test_my_data_while_the_crm_is_down_holds_what_the_portal_keeps(portal_for, ac, smtp):
    app = portal_for(extra=RIGHTS, resilience={**NO_LIMITER, "cache": "none"})
    client = signed_in_client(app, smtp)
    save(client, ac, lists=("events",))
    ac.server.go_down()
    page = client.get("/rights/my-data?lang=en")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Our contact records did not answer" in text
    assert "Events" in text  # the consent record the portal keeps
    data = json.loads(client.get("/rights/my-data.json?lang=en").get_data(as_text=True))
    assert data["crm"]["answered"] is False and "did not answer" in data["crm"]["note"]
    assert data["fields"] == [] and data["subscriptions"] == []
    assert [c["item"] for c in data["consent_records"]] == ["events"]


def test_an_address_confirmed_while_the_crm_is_down_can_be_confirmed_later(portal_for, ac, smtp):
    app = portal_for(extra=RIGHTS, resilience=NO_LIMITER)
    client = signed_in_client(app, smtp)
    page = client.get("/profile/")
    form = {"csrf_token": csrf_token(page.data), "first_name": "Ane", "topics": ["music"],
            "email": "ane.new@example.org", "action": "save"}
    assert client.post("/profile/", data=form).status_code == 302
    link = link_to(smtp.wait_for("ane.new@example.org")[-1], "/rights/confirm/")
    ac.server.go_down()
    assert press(app.test_client(), link).status_code == 503
    assert ac.row["email"] == EMAIL
    ac.server.come_back()
    assert press(app.test_client(), link).status_code == 302
    assert ac.row["email"] == "ane.new@example.org"
