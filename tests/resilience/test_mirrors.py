"""Mirror CRMs: every change made in the portal reaches the parent
organisation's CRM too, through the queue, found there by email."""

from __future__ import annotations

import pytest

from portal.delivery import delivery
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
    delivery(app).queue.start_worker()
    wait_until(lambda: not delivery(app).ledger.entries(), what="the mirror write")
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
    delivery(app).queue.start_worker()
    wait_until(lambda: not delivery(app).ledger.entries(), what="the mirror write")
    assert parent.row["firstName"] == "MainFirst"


@pytest.fixture
def empty_parent(monkeypatch):
    account = start_account(contact=False, first_ids=7000)  # the parent has never seen Ane
    monkeypatch.setenv("PORTAL_CRM_PARENT_API_TOKEN", account.state.token)
    yield account
    account.server.stop()


def test_contact_missing_in_the_mirror_is_created_there(portal_for, ac, empty_parent, smtp):
    app = portal_for(mirrors={"parent": empty_parent})
    client = signed_in_client(app, smtp)
    save(client, ac, first_name="Orphan", topics=("theatre",), lists=("weekly",))
    delivery(app).queue.start_worker()
    wait_until(lambda: not delivery(app).ledger.entries(), what="the mirror write")
    assert "0 pending, 0 failed." in queue_cli(app, "list")
    made = [ref for ref, c in empty_parent.state.contacts.items() if c["email"] == EMAIL]
    assert len(made) == 1  # created once, then the change applied to it
    empty_parent.contact = made[0]
    assert empty_parent.row["firstName"] == "Orphan"
    assert empty_parent.row["lastName"] == "Etxeberria"  # the name from the main CRM
    assert empty_parent.value(empty_parent.topics) == "||theatre||"
    assert empty_parent.weekly in empty_parent.lists()
    assert ac.row["firstName"] == "Orphan"


def test_a_mirror_that_may_not_create_the_contact_flags_it_with_the_reason(
        portal_for, ac, empty_parent, smtp):
    empty_parent.state.may_add_contacts = False  # the parent's API user may only edit
    app = portal_for(mirrors={"parent": empty_parent})
    client = signed_in_client(app, smtp)
    save(client, ac, first_name="Orphan")
    delivery(app).queue.start_worker()
    wait_until(lambda: "1 failed" in queue_cli(app, "list"), what="the mirror to refuse")
    listing = queue_cli(app, "list", "--failed")
    assert f"No contact {EMAIL} in parent, and the portal could not create it" in listing
    assert "permission" in listing
    assert not empty_parent.state.contacts
    assert ac.row["firstName"] == "Orphan"  # the main CRM has the change all the same


def test_a_change_the_main_crm_refuses_does_not_reach_the_mirror(portal_for, ac, parent, smtp):
    app = portal_for(mirrors={"parent": parent})
    client = signed_in_client(app, smtp)
    client.get("/profile/")
    ac.server.faults.fail_next = 1
    ac.server.faults.fail_status = 422
    assert save(client, ac, first_name="Refused").status_code == 422
    assert not delivery(app).ledger.entries()
    assert parent.row["firstName"] == "Ane"
