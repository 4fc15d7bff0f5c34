"""The behaviour every CRM adapter promises, checked against each CRM's fake.

Every test runs once per harness in tests/crm/harnesses.py. To add a CRM:
write a fake in tests/fakes/<crm>.py (a Flask app served by FakeServer),
a `Harness` subclass plus a one-line factory in tests/crm/harnesses.py, and
add the factory to `HARNESSES`. Nothing in this file changes. Tests that need
an HTTP fake skip themselves for the embedded CRM.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from portal.crm.base import (
    AmbiguousContact,
    Change,
    Contact,
    CrmAuthError,
    CrmNotFound,
    CrmRateLimited,
    CrmUnavailable,
    CrmValidationError,
    FieldRef,
    FieldUpdate,
    ItemRef,
    Note,
    Profile,
)
from portal.crm.calls import first_attempt
from portal.delivery.cache import applied
from tests.crm.harnesses import Harness

EARLIER = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
LATER = EARLIER + timedelta(days=30)

BEFORE = {"text": "Miren", "tel": "+34 600 000 001", "country": "FR", "select": "news",
          "multiselect": ["news"], "checkbox": False, "date": "2025-12-24", "other": "keep me"}
AFTER = {"text": "Zuriñe", "tel": "+34 611 222 333", "country": "ES", "select": "events",
         "multiselect": ["events", "offers"], "checkbox": True, "date": "2026-03-01"}


def needs_http(harness: Harness) -> None:
    if harness.server is None:
        pytest.skip(f"{harness.name} is not reached over HTTP")


def full_change(harness: Harness, ref: str, email: str) -> Change:
    fields = harness.fields()
    items = harness.items()
    return Change(
        contact_ref=ref,
        email=email,
        fields=tuple(FieldUpdate(fields[role], value) for role, value in AFTER.items()
                     if role in fields),
        join=(items[1],),
        leave=(items[0],),
        add_tags=("portal-edit",),
        remove_tags=("old-tag",),
        notes=(Note("Comment from the preference portal", "Please call me in the mornings."),),
        automations=(harness.automation(),) if harness.automation() else (),
    )


def seeded(harness: Harness, email: str = "jane@example.org") -> str:
    items = harness.items()
    return harness.seed_contact(email, modified=EARLIER,
                                values={r: v for r, v in BEFORE.items() if r in harness.fields()},
                                items=(items[0], items[2]), tags=("keep-tag", "old-tag"))


def read(adapter, harness: Harness, ref: str, email: str = "jane@example.org"):
    contact = adapter.find_contact(email)
    assert contact is not None and contact.ref == ref
    return adapter.fetch_profile(contact, list(harness.fields().values()), harness.items())


# --- creating a contact -------------------------------------------------------------


@pytest.mark.parametrize(("name", "shown"), [
    ("Ane Etxeberria Goikoetxea", "Ane Etxeberria Goikoetxea"),
    ("Ane", "Ane"),
    ("", None),  # no name: empty, or the email's local part where a last name is required
])
def test_created_contact_is_found_by_email_and_a_taken_email_is_handled(harness, adapter,
                                                                        name, shown):
    email = "new.member@example.org"
    if shown is None:
        shown = "new.member" if harness.last_name_required else ""
    made = adapter.create_contact(email, name)
    found = adapter.find_contact(email)
    assert found is not None and found.ref == made.ref
    assert found.email.lower() == email
    assert found.name == made.name == shown

    again = adapter.create_contact(email, "Someone Else")
    refs = {c.ref for c in adapter.find_contacts(email)}
    if harness.duplicate_create == "existing":
        assert again.ref == made.ref and refs == {made.ref}
        assert adapter.find_contact(email).name == shown  # the taken contact is not renamed
    else:
        assert again.ref != made.ref and refs == {made.ref, again.ref}


# --- finding by email -------------------------------------------------------------


def test_unknown_email_finds_nobody(harness, adapter):
    harness.seed_contact("someone@example.org", modified=EARLIER)
    assert adapter.find_contact("nobody@example.org") is None


def test_email_match_is_exact_and_case_insensitive(harness, adapter):
    ref = harness.seed_contact("jane@example.org", modified=EARLIER)
    harness.seed_contact("mary.jane@example.org", modified=LATER)
    harness.seed_contact("jane@example.org.uk", modified=LATER)
    found = adapter.find_contacts("Jane@Example.ORG")
    assert [c.ref for c in found] == [ref]
    assert found[0].email.lower() == "jane@example.org"


def test_duplicates_pick_the_most_recently_modified(harness, adapter):
    harness.seed_contact("twin@example.org", modified=EARLIER)
    newer = harness.seed_contact("twin@example.org", modified=LATER)
    assert adapter.find_contact("twin@example.org").ref == newer


def test_duplicates_can_be_refused_with_a_clear_message(harness, tmp_path):
    harness.seed_contact("twin@example.org", modified=EARLIER)
    harness.seed_contact("twin@example.org", modified=LATER)
    adapter = harness.adapter(tmp_path, duplicates="refuse")
    with pytest.raises(AmbiguousContact, match=r"2 contacts .* share this email"):
        adapter.find_contact("twin@example.org")


# --- reading ----------------------------------------------------------------------


def test_profile_reads_every_field_and_item_within_the_call_budget(harness, adapter):
    ref = seeded(harness)
    # The budget is for a page view once the adapter's metadata caches (tag ids,
    # field definitions) are warm: the first read may look them up.
    read(adapter, harness, ref)
    before = harness.calls(adapter)
    contact = adapter.find_contact("jane@example.org")
    found = harness.calls(adapter)
    profile = adapter.fetch_profile(contact, list(harness.fields().values()), harness.items())
    fetched = harness.calls(adapter)
    assert found - before <= harness.find_budget
    assert fetched - found <= harness.fetch_budget
    fields = harness.fields()
    assert {role: profile.values[ref_.crm_field] for role, ref_ in fields.items()} == \
        {role: BEFORE[role] for role in fields}
    items = harness.items()
    assert profile.subscribed == {items[0], items[2]}
    assert profile.contact.ref == ref


def test_reads_and_writes_stay_within_the_costs_the_adapter_declares(harness, adapter):
    needs_http(harness)
    fields, items = list(harness.fields().values()), harness.items()
    ref, other = seeded(harness), seeded(harness, "other@example.org")
    adapter.apply(full_change(harness, other, "other@example.org"))  # warms tag and field caches
    read(adapter, harness, other, "other@example.org")
    contacts = [adapter.find_contact("jane@example.org"), adapter.find_contact("other@example.org")]
    declared = adapter.read_cost(fields, items)
    assert declared <= harness.fetch_budget  # no more than the fewest calls the API allows
    before = harness.calls(adapter)
    adapter.fetch_profile(contacts[0], fields, items)
    assert harness.calls(adapter) - before <= declared
    before = harness.calls(adapter)
    found = adapter.fetch_profiles(contacts, fields, items)
    batches = -(-len(contacts) // adapter.batch_size)
    assert harness.calls(adapter) - before <= declared * batches
    assert {p.contact.ref for p in found.values()} == {ref, other}
    for fresh in (True, False):  # a save from the page, and a retry from the queue
        change = full_change(harness, ref, "jane@example.org")
        before = harness.calls(adapter)
        with first_attempt(fresh):
            declared = adapter.write_cost(change)  # what `write` reserves for this attempt
            adapter.apply(change)
        assert harness.calls(adapter) - before <= declared, fresh


def test_reading_a_missing_contact_is_not_found(harness, adapter):
    ref = harness.seed_contact("jane@example.org", modified=EARLIER)
    contact = adapter.find_contact("jane@example.org")
    ghost = type(contact)(ref=harness.missing_ref(), email=contact.email)
    assert ref != ghost.ref
    with pytest.raises(CrmNotFound):
        adapter.fetch_profile(ghost, list(harness.fields().values()), harness.items())


# --- writing ----------------------------------------------------------------------


def test_a_change_is_applied_and_read_back(harness, adapter):
    ref = seeded(harness)
    change = full_change(harness, ref, "jane@example.org")
    adapter.apply(change)
    profile = read(adapter, harness, ref)
    fields = harness.fields()
    for role in fields:
        assert profile.values[fields[role].crm_field] == AFTER.get(role, BEFORE[role]), role
    items = harness.items()
    assert profile.subscribed == {items[1], items[2]}  # joined 1, left 0, 2 untouched
    tags = harness.tags(ref)
    assert {"portal-edit", "keep-tag"} <= tags
    assert "old-tag" not in tags
    notes = harness.notes(ref)
    assert len(notes) == 1
    assert "Please call me in the mornings." in notes[0]
    assert "Comment from the preference portal" in notes[0]
    if harness.automation():
        assert harness.automations(ref) == [harness.automation()]


def test_many_contacts_changes_land_as_each_would_alone(harness, adapter):
    """The queue's bulk write (`apply_many`, `bulk_size` contacts at a time):
    each change lands as `apply` would land it, with one note."""
    emails = [f"member{n}@example.org" for n in range(12)]
    refs = [seeded(harness, email) for email in emails]
    changes = [replace(full_change(harness, ref, email), remove_tags=())
               for ref, email in zip(refs, emails, strict=True)]
    for start in range(0, len(changes), adapter.bulk_size):
        with first_attempt():
            done = adapter.apply_many(changes[start:start + adapter.bulk_size])
        assert set(done.values()) == {None}
    fields, items = harness.fields(), harness.items()
    for ref, email in zip(refs, emails, strict=True):
        profile = read(adapter, harness, ref, email)
        assert {role: profile.values[f.crm_field] for role, f in fields.items()} == \
            {role: AFTER.get(role, BEFORE[role]) for role in fields}
        assert profile.subscribed == {items[1], items[2]}
        assert {"portal-edit", "keep-tag", "old-tag"} <= harness.tags(ref)
        notes = harness.notes(ref)
        assert len(notes) == 1 and "Please call me in the mornings." in notes[0]
        if harness.automation():
            assert harness.automations(ref) == [harness.automation()]


def test_an_item_of_a_kind_the_crm_does_not_have_is_refused_before_any_write(harness, adapter):
    ref = seeded(harness)
    before = read(adapter, harness, ref)
    change = full_change(harness, ref, "jane@example.org")
    change = Change(ref, change.email, fields=change.fields,
                    join=(*change.join, ItemRef("no-such-kind", "x")), leave=change.leave)
    with pytest.raises(CrmValidationError, match="no-such-kind"):
        adapter.apply(change)
    after = read(adapter, harness, ref)
    assert after.values == before.values and after.subscribed == before.subscribed


def test_a_tag_both_added_and_removed_in_one_change_ends_up_added(harness, adapter):
    ref = seeded(harness)  # tagged keep-tag and old-tag
    change = Change(ref, "jane@example.org", add_tags=("old-tag", "portal-edit"),
                    remove_tags=("old-tag", "portal-edit", "keep-tag"))
    adapter.apply(change)
    watched = {"keep-tag", "old-tag", "portal-edit"}
    assert harness.tags(ref) & watched == {"old-tag", "portal-edit"}
    # The profile the portal shows until the next read agrees with the CRM.
    before = Profile(Contact(ref, "jane@example.org"),
                     subscribed=frozenset({ItemRef("tag", "keep-tag"), ItemRef("tag", "old-tag")}))
    assert {i.ref for i in applied(before, change).subscribed} == {"old-tag", "portal-edit"}


def test_applying_the_same_change_twice_leaves_the_same_state(harness, adapter):
    ref = seeded(harness)
    change = full_change(harness, ref, "jane@example.org")
    adapter.apply(change)
    first = read(adapter, harness, ref)
    first_tags, first_notes = harness.tags(ref), harness.notes(ref)
    adapter.apply(change)
    again = read(adapter, harness, ref)
    assert again.values == first.values
    assert again.subscribed == first.subscribed
    assert harness.tags(ref) == first_tags
    assert harness.notes(ref) == first_notes and len(first_notes) == 1
    if harness.automation():
        assert harness.automations(ref) == [harness.automation()]


def test_a_replayed_change_from_the_queue_applies_the_same(harness, adapter):
    ref = seeded(harness)
    change = full_change(harness, ref, "jane@example.org")
    adapter.apply(Change.from_json(change.to_json()))
    adapter.apply(Change.from_json(change.to_json()))
    assert len(harness.notes(ref)) == 1


def test_empty_values_clear_fields(harness, adapter):
    ref = seeded(harness)
    fields = harness.fields()
    cleared = [role for role in fields if role != "other"]
    adapter.apply(Change(ref, "jane@example.org",
                         fields=tuple(FieldUpdate(fields[r], None) for r in cleared)))
    profile = read(adapter, harness, ref)
    for role in cleared:
        value = profile.values[fields[role].crm_field]
        if role == "checkbox":
            assert value in (None, False), role
        else:
            assert value is None, role
    assert profile.values[fields["other"].crm_field] == BEFORE["other"]


def test_an_empty_change_touches_nothing(harness, adapter):
    ref = seeded(harness)
    before, tags = read(adapter, harness, ref), harness.tags(ref)
    adapter.apply(Change(ref, "jane@example.org"))
    after = read(adapter, harness, ref)
    assert (after.values, after.subscribed) == (before.values, before.subscribed)
    assert harness.tags(ref) == tags
    assert {"keep-tag", "old-tag"} <= tags
    assert harness.notes(ref) == []


def test_unsubscribe_from_all_and_back(harness, adapter):
    ref = seeded(harness)
    before = read(adapter, harness, ref)
    adapter.apply(Change(ref, "jane@example.org", unsubscribe_all=True))
    profile = read(adapter, harness, ref)
    if harness.global_opt_out:
        assert profile.opted_out_all is True
        adapter.apply(Change(ref, "jane@example.org", unsubscribe_all=False))
        assert read(adapter, harness, ref).opted_out_all is False
    else:
        # No opt-out of its own that leaves items alone: the change's leaves are all it does.
        assert profile.subscribed == before.subscribed and not profile.opted_out_all


def test_unsubscribe_from_all_leaves_only_the_items_it_names(harness, adapter):
    """The portal names every item "unsubscribe from all" reaches; the others
    (not in the configuration, or kept out of it by marketing) stay as they are."""
    ref = seeded(harness)
    items = harness.items()
    adapter.apply(Change(ref, "jane@example.org", leave=(items[0],), unsubscribe_all=True))
    profile = read(adapter, harness, ref)
    assert items[0] not in profile.subscribed
    assert items[2] in profile.subscribed
    assert {"keep-tag", "old-tag"} <= harness.tags(ref)


def test_writing_to_a_missing_contact_is_not_found(harness, adapter):
    harness.seed_contact("jane@example.org", modified=EARLIER)
    fields = harness.fields()
    with pytest.raises(CrmNotFound):
        adapter.apply(Change(harness.missing_ref(), "jane@example.org",
                             fields=(FieldUpdate(fields["text"], "x"),)))


def test_a_refused_value_is_a_validation_error_with_the_crms_reason(harness, adapter):
    ref = seeded(harness)
    with pytest.raises(CrmValidationError) as caught:
        adapter.apply(Change(ref, "jane@example.org", fields=(harness.refused_update(),)))
    assert caught.value.reason
    assert not caught.value.transient


# --- email changes -------------------------------------------------------------------


def moved(harness: Harness, ref: str, new: str = "jane.new@example.org") -> Change:
    return Change(ref, "jane@example.org",
                  fields=(FieldUpdate(FieldRef(harness.email_field, "email"), new),))


def test_email_changes(harness, adapter):
    """Each CRM's own way of changing a contact's address: the contact is found by
    the new address only and keeps every value and subscription (where the CRM ties
    subscriptions to the address, they move with it); a replay changes nothing more."""
    ref = seeded(harness)
    before = read(adapter, harness, ref)
    change = moved(harness, ref)
    adapter.apply(change)
    adapter.apply(Change.from_json(change.to_json()))
    assert [c.ref for c in adapter.find_contacts("jane.new@example.org")] == [ref]
    assert adapter.find_contacts("jane@example.org") == []
    after = read(adapter, harness, ref, "jane.new@example.org")
    assert after.contact.email.lower() == "jane.new@example.org"
    assert after.values == before.values
    assert after.subscribed == before.subscribed
    assert after.opted_out_all is before.opted_out_all is False


def test_an_email_change_keeps_an_unsubscribe_from_all(harness, adapter):
    ref = seeded(harness)
    adapter.apply(Change(ref, "jane@example.org", unsubscribe_all=True))
    before = read(adapter, harness, ref)
    adapter.apply(moved(harness, ref))
    after = read(adapter, harness, ref, "jane.new@example.org")
    assert after.opted_out_all == before.opted_out_all
    assert after.subscribed == before.subscribed


# --- faults (HTTP CRMs) ---------------------------------------------------------------


def test_bad_credentials_name_the_setting_and_never_the_secret(harness, tmp_path, monkeypatch,
                                                               caplog):
    needs_http(harness)
    for key, value in harness.env(valid=False).items():
        monkeypatch.setenv(key, value)
    adapter = harness.adapter(tmp_path)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CrmAuthError) as caught:
        adapter.find_contact("jane@example.org")
    message = str(caught.value)
    assert not caught.value.transient
    env = harness.env(valid=False)
    assert any(name in message for name in env), message
    for secret in env.values():
        assert secret not in message
        assert secret not in caplog.text


def test_rate_limiting_is_transient_with_the_wait_the_crm_asked_for(harness, adapter):
    needs_http(harness)
    harness.server.faults.rate_limit_next = 1
    with pytest.raises(CrmRateLimited) as caught:
        adapter.find_contact("jane@example.org")
    assert caught.value.transient
    assert caught.value.retry_after == pytest.approx(harness.retry_after, abs=1.0)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(harness, adapter, status):
    needs_http(harness)
    harness.server.faults.fail_next = 1
    harness.server.faults.fail_status = status
    with pytest.raises(CrmUnavailable) as caught:
        adapter.find_contact("jane@example.org")
    assert caught.value.transient


def test_a_reset_connection_is_transient(harness, adapter):
    needs_http(harness)
    harness.server.faults.drop_next = 1
    with pytest.raises(CrmUnavailable):
        adapter.find_contact("jane@example.org")


def test_a_slow_crm_times_out_as_unavailable(harness, tmp_path):
    needs_http(harness)
    adapter = harness.adapter(tmp_path, read_timeout=0.2)
    harness.server.faults.latency = 0.5
    with pytest.raises(CrmUnavailable, match="did not answer in time"):
        adapter.find_contact("jane@example.org")
    harness.server.faults.latency = 0


def test_a_crm_that_is_down_is_unavailable(harness, adapter):
    needs_http(harness)
    harness.server.go_down()
    with pytest.raises(CrmUnavailable, match="connection was refused"):
        adapter.find_contact("jane@example.org")


def test_every_request_names_the_portal(harness, adapter):
    needs_http(harness)
    adapter.find_contact("jane@example.org")
    assert harness.server.calls
    assert all(c.headers.get("User-Agent", "").startswith("contact-preference-portal/")
               for c in harness.server.calls)
