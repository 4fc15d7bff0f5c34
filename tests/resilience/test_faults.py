"""Faults of the CRM while contacts save: each ends with every change in the
CRM exactly once, and the contact sees what they saved all along."""

from __future__ import annotations

import time

from portal.delivery import delivery
from tests.resilience.conftest import (
    EMAIL,
    queue_cli,
    save,
    signed_in_client,
    wait_until,
)

QUEUED_TEXT = "They will reach our system shortly."


def ledger_empty(app) -> bool:
    return not delivery(app).ledger.entries()


def test_crm_down_save_is_kept_shown_and_lands_once(portal_app, ac, smtp):
    client = signed_in_client(portal_app, smtp)
    assert client.get("/profile/").status_code == 200  # the profile is read (and cached)
    ac.server.go_down()

    answer = save(client, ac, first_name="Miren", topics=("theatre",), lists=("weekly",),
                  comments="Call me after six.")
    assert answer.status_code == 302
    page = client.get("/profile/?lang=en").data.decode()
    assert QUEUED_TEXT in page
    # Read your own writes: the saved values, not the CRM's old ones, while it is down.
    assert 'value="Miren"' in page
    assert 'value="theatre" checked' in page or "checked" in page.split('value="theatre"')[1][:40]
    listing = queue_cli(portal_app, "list")
    assert "1 pending, 0 failed." in listing and EMAIL in listing
    assert "Could not reach main" in listing  # the operator sees why

    ac.server.come_back()
    delivery(portal_app).queue.start_worker()
    wait_until(lambda: ledger_empty(portal_app), what="the change to land")
    assert ac.row["firstName"] == "Miren"
    assert ac.value(ac.topics) == "||theatre||"
    assert ac.weekly in ac.lists()
    assert len([n for n in ac.notes() if "Call me after six." in n]) == 1
    # The cached profile was refreshed by the delivery: the page still shows the save.
    assert 'value="Miren"' in client.get("/profile/").data.decode()


def test_slow_crm_times_out_then_the_change_lands_once(portal_app, ac, smtp):
    client = signed_in_client(portal_app, smtp)
    client.get("/profile/")
    ac.server.faults.latency = 1.5  # longer than apply_timeout
    answer = save(client, ac, first_name="Slow", comments="Patience.")
    assert answer.status_code == 302
    assert QUEUED_TEXT in client.get("/profile/").data.decode()
    ac.server.faults.latency = 0
    delivery(portal_app).queue.start_worker()
    wait_until(lambda: ledger_empty(portal_app), what="the change to land")
    assert ac.row["firstName"] == "Slow"
    assert len([n for n in ac.notes() if "Patience." in n]) == 1


def test_server_errors_are_retried_with_backoff_until_the_change_lands(portal_app, ac, smtp):
    client = signed_in_client(portal_app, smtp)
    client.get("/profile/")
    ac.server.faults.fail_next = 4  # the save's own try and the first retries get 500
    save(client, ac, first_name="Persistent", lists=("events",))
    entry = delivery(portal_app).ledger.entries()[0]
    assert "answered 500" in entry.last_error
    delivery(portal_app).queue.start_worker()
    wait_until(lambda: ledger_empty(portal_app), what="the change to land")
    assert ac.row["firstName"] == "Persistent"
    assert ac.events in ac.lists()
    joins = [c for c in ac.server.calls_to("POST", "/api/3/contactLists")]
    assert len(joins) == 1


def test_429_with_retry_after_is_honoured(portal_app, ac, smtp):
    client = signed_in_client(portal_app, smtp)
    client.get("/profile/")
    ac.server.faults.rate_limit_next = 1
    ac.server.faults.retry_after = "2"
    saved_at = time.time()
    save(client, ac, first_name="Patient")
    entry = delivery(portal_app).ledger.entries()[0]
    assert entry.next_try - saved_at >= 2.0  # not before the CRM's Retry-After
    delivery(portal_app).queue.start_worker()
    wait_until(lambda: ledger_empty(portal_app), what="the change to land")
    writes = ac.server.calls_to("PUT", f"/api/3/contacts/{ac.contact}")
    assert len(writes) == 2  # the one answered 429 (not written), then the queue's
    assert ac.row["firstName"] == "Patient"


def test_answer_lost_after_the_crm_wrote_the_note_does_not_duplicate_it(portal_app, ac, smtp):
    client = signed_in_client(portal_app, smtp)
    client.get("/profile/")
    ac.drop_after["POST /api/3/notes"] = 1  # the CRM keeps the note, the portal sees a reset
    save(client, ac, first_name="Reset", comments="Only once, please.")
    assert QUEUED_TEXT in client.get("/profile/").data.decode()
    delivery(portal_app).queue.start_worker()
    wait_until(lambda: ledger_empty(portal_app), what="the change to land")
    assert len([n for n in ac.notes() if "Only once, please." in n]) == 1
    assert ac.row["firstName"] == "Reset"


def test_reset_before_the_crm_answers_is_retried(portal_app, ac, smtp):
    client = signed_in_client(portal_app, smtp)
    client.get("/profile/")
    ac.server.faults.drop_next = 1  # the first request of the save is reset
    save(client, ac, first_name="Again")
    delivery(portal_app).queue.start_worker()
    wait_until(lambda: ledger_empty(portal_app), what="the change to land")
    assert ac.row["firstName"] == "Again"


def test_later_save_waits_for_the_earlier_one(portal_app, ac, smtp):
    client = signed_in_client(portal_app, smtp)
    client.get("/profile/")
    ac.server.go_down()
    save(client, ac, first_name="First")
    ac.server.come_back()
    # The CRM is back, but the first change has not landed: the second must not overtake it.
    save(client, ac, first_name="Second")
    assert len(delivery(portal_app).ledger.entries()) == 2
    assert 'value="Second"' in client.get("/profile/").data.decode()
    delivery(portal_app).queue.start_worker()
    wait_until(lambda: ledger_empty(portal_app), what="both changes to land")
    assert ac.row["firstName"] == "Second"


def test_refused_change_is_shown_to_the_contact_in_their_language(portal_app, ac, smtp):
    client = signed_in_client(portal_app, smtp)
    client.get("/profile/?lang=es")
    ac.server.faults.fail_next = 1
    ac.server.faults.fail_status = 400
    answer = save(client, ac, first_name="Refused", lang="es")
    assert answer.status_code == 422
    assert "Nuestro sistema no ha aceptado estos cambios" in answer.data.decode()
    assert ledger_empty(portal_app)  # nothing kept: the contact decides what to do


def test_past_the_deadline_the_change_is_kept_flagged_and_an_operator_retries(
        portal_for, ac, smtp):
    app = portal_for(resilience={"deadline_hours": 0.0003})  # about a second
    client = signed_in_client(app, smtp)
    client.get("/profile/")
    ac.server.go_down()
    save(client, ac, first_name="Late")
    delivery(app).queue.start_worker()
    wait_until(lambda: "1 failed" in queue_cli(app, "list"), what="the deadline to pass")
    listing = queue_cli(app, "list", "--failed")
    assert "FAILED" in listing and "Deadline passed" in listing and EMAIL in listing
    entry_id = delivery(app).ledger.entries()[0].id

    ac.server.come_back()
    delivery(app).queue.stop_worker()
    app = portal_for(instance="instance", resilience={"deadline_hours": 1.0})
    assert f"{entry_id}: queued again." in queue_cli(app, "retry", entry_id)
    delivery(app).queue.start_worker()
    wait_until(lambda: ledger_empty(app), what="the retried change to land")
    assert ac.row["firstName"] == "Late"


def test_operator_drops_an_entry(portal_app, ac, smtp):
    client = signed_in_client(portal_app, smtp)
    client.get("/profile/")
    ac.server.go_down()
    save(client, ac, first_name="Dropped")
    entry_id = delivery(portal_app).ledger.entries()[0].id
    output = queue_cli(portal_app, "drop", "--yes", entry_id)
    assert "dropped" in output
    assert "0 pending, 0 failed." in queue_cli(portal_app, "list")


def test_embedded_worker_starts_with_the_first_request(portal_for, ac, smtp):
    # As `make run` serves it: no separate worker process, nothing started by hand.
    app = portal_for(testing=False)
    assert not delivery(app).queue.running
    client = signed_in_client(app, smtp)
    assert delivery(app).queue.running
    client.get("/profile/")
    ac.server.faults.fail_next = 1
    save(client, ac, first_name="Embedded")
    wait_until(lambda: ledger_empty(app), what="the embedded worker to deliver")
    assert ac.row["firstName"] == "Embedded"


def test_each_note_carries_its_change_marker_once(portal_app, ac, smtp):
    client = signed_in_client(portal_app, smtp)
    client.get("/profile/")
    save(client, ac, first_name="Once", comments="Marked once.")
    delivery(portal_app).queue.start_worker()  # whatever the budget left for the queue
    wait_until(lambda: ledger_empty(portal_app), what="the change to land")
    [note] = ac.notes()  # the audit note and the comment: one note, written in one call
    assert "First name: Ane → Once" in note and "Marked once." in note
    assert note.count("[portal change ") == 1, note
