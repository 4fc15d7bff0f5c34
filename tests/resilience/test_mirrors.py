"""Mirror CRMs: every change made in the portal reaches the parent
organisation's CRM too, through the queue, found there by email."""

from __future__ import annotations

import pytest

from tests.resilience.conftest import EMAIL, queue_cli, save, signed_in_client, start_account, wait_until


@pytest.fixture
def parent(monkeypatch):
    account = start_account(first_ids=5000)  # its own ids: contact, field and list refs differ
    monkeypatch.setenv("PORTAL_CRM_PARENT_API_TOKEN", account.state.token)
    yield account
    account.server.stop()


def test_every_change_reaches_the_mirror_once(portal_for, ac, parent, smtp):
    assert parent.contact != ac.contact
    app = portal_for(mirrors={"parent": parent})
    client = signed_in_client(app, smtp)
    answer = save(client, ac, first_name="Both", topics=("theatre",), lists=("weekly",),
                  comments="For both offices.")
    assert answer.status_code == 302
    assert "Your changes are saved." in client.get("/profile/").data.decode()
    assert ac.row["firstName"] == "Both"  # the main CRM at once
    assert parent.row["firstName"] == "Ane"  # the mirror through the queue
    app.extensions["portal"].queue.start_worker()
    wait_until(lambda: not app.extensions["portal"].ledger.entries(), what="the mirror write")
    assert parent.row["firstName"] == "Both"
    assert parent.value(parent.topics) == "||theatre||"  # field id mapped to the mirror's own
    assert parent.weekly in parent.lists()  # list id mapped too
    assert len([n for n in parent.notes() if "For both offices." in n]) == 1


def test_mirror_down_does_not_hold_up_the_contact(portal_for, ac, parent, smtp):
    app = portal_for(mirrors={"parent": parent})
    client = signed_in_client(app, smtp)
    parent.server.go_down()
    save(client, ac, first_name="MainFirst")
    assert "Your changes are saved." in client.get("/profile/").data.decode()
    assert ac.row["firstName"] == "MainFirst"
    parent.server.come_back()
    app.extensions["portal"].queue.start_worker()
    wait_until(lambda: not app.extensions["portal"].ledger.entries(), what="the mirror write")
    assert parent.row["firstName"] == "MainFirst"


def test_contact_missing_in_the_mirror_is_flagged_for_an_operator(portal_for, ac, smtp,
                                                                 monkeypatch):
    empty = start_account(contact=False, first_ids=7000)
    monkeypatch.setenv("PORTAL_CRM_PARENT_API_TOKEN", empty.state.token)
    try:
        app = portal_for(mirrors={"parent": empty})
        client = signed_in_client(app, smtp)
        save(client, ac, first_name="Orphan")
        app.extensions["portal"].queue.start_worker()
        wait_until(lambda: "1 failed" in queue_cli(app, "list"), what="the mirror to refuse")
        listing = queue_cli(app, "list", "--failed")
        assert f"No contact {EMAIL} in parent" in listing
        assert ac.row["firstName"] == "Orphan"
    finally:
        empty.server.stop()


def test_a_change_the_main_crm_refuses_does_not_reach_the_mirror(portal_for, ac, parent, smtp):
    app = portal_for(mirrors={"parent": parent})
    client = signed_in_client(app, smtp)
    client.get("/profile/")
    ac.server.faults.fail_next = 1
    ac.server.faults.fail_status = 422
    assert save(client, ac, first_name="Refused").status_code == 422
    assert not app.extensions["portal"].ledger.entries()
    assert parent.row["firstName"] == "Ane"
