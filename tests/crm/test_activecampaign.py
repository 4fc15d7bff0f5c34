"""ActiveCampaign specifics the conformance suite does not see: wire formats,
re-subscription, tag associations and the 5-a-second limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from portal.crm.base import (
    Change,
    CrmConfigError,
    CrmNotFound,
    CrmRateLimited,
    CrmValidationError,
    FieldUpdate,
    ItemRef,
    Note,
)
from portal.crm.calls import first_attempt
from tests.crm.harnesses import ActiveCampaignHarness
from tests.fakes.activecampaign import DOCUMENTED_PER_SECOND

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def ac(tmp_path, monkeypatch):
    harness = ActiveCampaignHarness()
    harness.start(tmp_path)
    for key, value in harness.env().items():
        monkeypatch.setenv(key, value)
    yield harness
    harness.stop()


def test_multi_values_travel_in_activecampaigns_pipe_form(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    ref = ac.seed_contact("jane@example.org", modified=WHEN)
    fields = ac.fields()
    adapter.apply(Change(ref, "jane@example.org", fields=(
        FieldUpdate(fields["multiselect"], ["news", "offers"]),
        FieldUpdate(fields["checkbox"], True))))
    put = json.loads(ac.server.calls_to("PUT", "/api/3/contacts/")[-1].body)
    sent = {fv["field"]: fv["value"] for fv in put["contact"]["fieldValues"]}
    assert sent[ac.ids["multiselect"]] == "||news||offers||"
    assert sent[ac.ids["checkbox"]] == "||Yes||"


def test_rejoining_a_list_one_left_sends_the_resubscribe_source(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    ref = ac.seed_contact("jane@example.org", modified=WHEN)
    ac.state.subscribe(ref, ac.lists[0], 2)
    adapter.apply(Change(ref, "jane@example.org", join=(ItemRef("list", ac.lists[0]),)))
    body = json.loads(ac.server.calls_to("POST", "/api/3/contactLists")[-1].body)
    assert body["contactList"] == {"list": ac.lists[0], "contact": ref, "status": 1, "sourceid": 4}


def test_a_first_attempt_writes_without_reading_first(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    ref = ac.seed_contact("jane@example.org", modified=WHEN)
    fields = ac.fields()
    change = Change(ref, "jane@example.org", fields=(FieldUpdate(fields["text"], "Ane"),),
                    join=(ItemRef("list", ac.lists[0]), ItemRef("tag", "volunteer")),
                    notes=(Note("Changes from the preference portal", "Name: Ane"),))
    adapter.apply(change)  # warms the tag id cache, reading what an earlier try may have left
    ac.server.calls.clear()
    with first_attempt():
        adapter.apply(Change(ref, "jane@example.org", fields=change.fields, join=change.join,
                             notes=change.notes))
    assert [c.method for c in ac.server.calls] == ["PUT", "POST", "POST", "POST"]
    assert [c.path for c in ac.server.calls][1:] == ["/api/3/contactLists", "/api/3/contactTags",
                                                    "/api/3/notes"]


def test_a_retry_reads_what_an_earlier_attempt_wrote_and_writes_no_note_twice(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    ref = ac.seed_contact("jane@example.org", modified=WHEN)
    change = Change(ref, "jane@example.org", join=(ItemRef("tag", "volunteer"),),
                    notes=(Note("Changes from the preference portal", "Subscribed"),))
    with first_attempt():
        adapter.apply(change)
    adapter.apply(change)  # the queue's retry after a timeout that hid the answer
    assert len(ac.state.notes_of(ref)) == 1
    assert len([t for t in ac.state.contact_tags.values() if t["contact"] == ref]) == 1


AUDIT = Note("Changes from the preference portal", "First name: Jane → Ane\nSubscribed to: News")
CONSENT = "Consent record from the preference portal"


def consented(change: Change) -> Change:
    """`change` with its consent record, which ends with the change's marker as the portal writes it."""
    record = Note(CONSENT, f"News (list:1): joined\n\n{change.note_marker()}")
    return Change(change.contact_ref, change.email, fields=change.fields, join=change.join,
                  leave=change.leave, unsubscribe_all=change.unsubscribe_all,
                  notes=(*change.notes, record), id=change.id)


def test_the_audit_note_and_the_consent_record_are_one_note_with_one_marker(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    ref = ac.seed_contact("jane@example.org", modified=WHEN)
    change = consented(Change(ref, "jane@example.org", join=(ItemRef("list", ac.lists[0]),),
                              notes=(AUDIT,)))
    with first_attempt():
        adapter.apply(change)
    assert [c.method for c in ac.server.calls_to("POST", "/api/3/notes")] == ["POST"]
    assert ac.server.calls_to("GET", f"/api/3/contacts/{ref}/notes") == []  # nothing to find yet
    adapter.apply(change)  # a retry finds the note and writes nothing more
    [note] = ac.state.notes_of(ref)
    assert note.count(change.note_marker()) == 1
    assert note.index(AUDIT.body) < note.index(CONSENT) < note.index("News (list:1): joined")


@pytest.mark.parametrize("unsubscribe_all", [None, True])
def test_a_first_attempt_makes_exactly_the_calls_it_declares(ac, tmp_path, unsubscribe_all):
    adapter = ac.adapter(tmp_path)
    ref = ac.seed_contact("jane@example.org", modified=WHEN)
    fields = ac.fields()
    # A save of the profile page: the name and a multi-value field, two lists, a tag.
    change = consented(Change(
        ref, "jane@example.org", unsubscribe_all=unsubscribe_all, notes=(AUDIT,),
        fields=(FieldUpdate(fields["text"], "Ane"), FieldUpdate(fields["multiselect"], ["news"])),
        join=(ItemRef("list", ac.lists[0]), ItemRef("list", ac.lists[1]), ItemRef("tag", "member"))))
    with first_attempt():
        declared = adapter.write_cost(change)  # the tag is new: found missing, then made
        adapter.apply(change)
    assert len(ac.server.calls) == declared == 7
    ac.server.calls.clear()
    with first_attempt():
        declared = adapter.write_cost(change)
        adapter.apply(change)
    assert len(ac.server.calls) == declared == 5  # the contact, two lists, the tag, the note


def test_removing_a_tag_deletes_the_association_not_the_tag(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    ref = ac.seed_contact("jane@example.org", modified=WHEN, tags=("old-tag",))
    association = next(iter(ac.state.contact_tags))
    adapter.apply(Change(ref, "jane@example.org", remove_tags=("old-tag",)))
    assert [c.path for c in ac.server.calls_to("DELETE")] == [f"/api/3/contactTags/{association}"]
    assert "old-tag" in {t["tag"] for t in ac.state.tags.values()}


def test_unsubscribe_from_all_leaves_the_named_lists_and_no_other(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    ref = ac.seed_contact("jane@example.org", modified=WHEN,
                          items=tuple(ItemRef("list", lid) for lid in ac.lists))
    adapter.apply(Change(ref, "jane@example.org", unsubscribe_all=True,
                         leave=(ItemRef("list", ac.lists[0]),)))
    status = {cl["list"]: cl["status"] for cl in ac.state.contact_lists if cl["contact"] == ref}
    assert status == {ac.lists[0]: "2", ac.lists[1]: "1", ac.lists[2]: "1"}


def test_the_account_limit_of_five_a_second_is_answered_with_a_wait(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    ac.server.faults.per_second = DOCUMENTED_PER_SECOND
    with pytest.raises(CrmRateLimited) as caught:
        for _ in range(6):
            adapter.find_contacts("jane@example.org")
    assert caught.value.retry_after == 1.0


def test_the_base_url_may_include_the_api_path(ac, tmp_path):
    adapter = ac.adapter(tmp_path, base_url=f"{ac.server.url}/api/3/")
    assert adapter.find_contact("nobody@example.org") is None


def test_a_missing_base_url_says_where_to_find_it(ac, tmp_path):
    with pytest.raises(CrmConfigError, match="base_url"):
        ac.adapter(tmp_path, base_url="")


def test_a_missing_token_names_the_environment_variable(ac, tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_CRM_TEST_API_TOKEN")
    with pytest.raises(CrmConfigError, match="PORTAL_CRM_TEST_API_TOKEN"):
        ac.adapter(tmp_path)


def test_describe_lists_fields_with_choices_lists_and_tags(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    ac.seed_contact("jane@example.org", modified=WHEN, tags=("vip",))
    catalog = adapter.describe()
    by_key = {f.key: f for f in catalog.fields}
    assert by_key[ac.ids["select"]].portal_type == "select"
    assert [c[0] for c in by_key[ac.ids["select"]].choices] == ["news", "events", "offers"]
    assert by_key[ac.ids["checkbox"]].portal_type == "checkbox"
    assert by_key["phone"].portal_type == "tel"
    assert {i.item for i in catalog.items} >= {ItemRef("list", lid) for lid in ac.lists}
    assert "vip" in catalog.tags


def test_catalogues_are_read_past_the_first_page(ac, tmp_path):
    for n in range(150):
        ac.state.add_field(f"Extra {n}", "text")
        ac.state.add_list(f"List {n}")
        ac.state.tag_id(f"tag-{n}")
        ac.state.add_automation(f"Automation {n}")
    late = ac.state.add_field("Volunteer", "checkbox", ("Sí",))  # a yes/no box past the first 100
    adapter = ac.adapter(tmp_path)
    catalog = adapter.describe()
    assert late in {f.key for f in catalog.fields}
    assert next(f for f in catalog.fields if f.key == late).portal_type == "checkbox"
    assert len([i for i in catalog.items if i.item.kind == "list"]) == len(ac.state.lists)
    assert "tag-149" in catalog.tags
    assert len(adapter.automations()) == len(ac.state.automations)
    ref = ac.seed_contact("jane@example.org", modified=WHEN)
    adapter.apply(Change(ref, "jane@example.org", fields=(FieldUpdate(
        ac.fields()["checkbox"].__class__(late, "checkbox"), True),)))
    put = json.loads(ac.server.calls_to("PUT", "/api/3/contacts/")[-1].body)
    assert put["contact"]["fieldValues"] == [{"field": late, "value": "||Sí||"}]


def test_template_tags_are_not_offered_as_subscriptions(ac, tmp_path):
    ac.state.tag_id("newsletter-template", kind="template")
    ac.state.tag_id("volunteer")
    catalog = ac.adapter(tmp_path).describe()
    offered = {i.item.ref for i in catalog.items if i.item.kind == "tag"}
    assert "volunteer" in offered and "newsletter-template" not in offered
    assert "newsletter-template" not in catalog.tags


# --- the queue's changes of many contacts: one bulk import -------------------------


def saved(ac, ref: str, n: int, **more) -> Change:
    """A save of the profile page: a name and a multi-value field, two lists, a tag, its note."""
    fields = ac.fields()
    return Change(ref, f"c{n}@example.org", notes=(AUDIT,), fields=(
        FieldUpdate(fields["text"], f"Bulk{n}"), FieldUpdate(fields["multiselect"], ["news"])),
        join=(ItemRef("list", ac.lists[0]), ItemRef("list", ac.lists[1]), ItemRef("tag", "member")),
        **more)


def test_queued_changes_of_many_contacts_go_in_one_import_each_settled_once(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    ac.state.import_seconds = 0.3  # the import runs after the first poll: the adapter waits
    refs = [ac.seed_contact(f"c{n}@example.org", modified=WHEN) for n in range(12)]
    ac.state.subscribe(refs[0], ac.lists[0], 2)  # left a list, and asks to join it again
    changes = [saved(ac, ref, n) for n, ref in enumerate(refs)]
    with first_attempt():
        done = adapter.apply_many(changes)
    assert done == {c.id: None for c in changes}
    assert len(ac.server.calls_to("POST", "/api/3/import/bulk_import")) == 1
    assert len(ac.server.calls_to("GET", "/api/3/import/info")) == 2
    assert ac.server.calls_to("PUT") == [] and ac.server.calls_to("POST", "/api/3/contactTags") == []
    # The contacts' emails, the import (it names tags, made where missing)
    # and its two polls; each list joined (one left before) and each note are
    # the calls it cannot make.
    assert len(ac.server.calls) == 1 + 1 + 2 + 12 * 2 + 12
    for n, ref in enumerate(refs):
        assert ac.state.contacts[ref]["firstName"] == f"Bulk{n}"
        assert ac.state.tags_of(ref) == {"member"}
        assert {cl["list"] for cl in ac.state.contact_lists
                if cl["contact"] == ref and cl["status"] == "1"} == set(ac.lists[:2])
        assert len(ac.state.notes_of(ref)) == 1
    values = {fv["contact"]: fv["value"] for fv in ac.state.field_values
              if fv["field"] == ac.ids["multiselect"]}
    assert {values[ref] for ref in refs} == {"||news||"}


def test_a_record_the_import_refuses_gets_its_error_and_the_others_land(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    refs = [ac.seed_contact(f"c{n}@example.org", modified=WHEN) for n in range(11)]
    wrong = ac.state.add_contact("invalid.email@invalidDomain", WHEN)  # as the reference's example
    changes = [saved(ac, ref, n) for n, ref in enumerate(refs)]
    changes.append(Change(wrong, "invalid.email@invalidDomain", notes=(AUDIT,),
                          fields=(FieldUpdate(ac.fields()["text"], "Nobody"),)))
    done = adapter.apply_many(changes)
    assert isinstance(done[changes[-1].id], CrmValidationError)
    assert not done[changes[-1].id].transient
    assert ac.state.notes_of(wrong) == []  # nothing more was written for it
    assert [done[c.id] for c in changes[:-1]] == [None] * 11


def test_a_contact_deleted_or_moved_since_is_not_imported_nor_made_again(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    refs = [ac.seed_contact(f"c{n}@example.org", modified=WHEN) for n in range(12)]
    changes = [saved(ac, ref, n) for n, ref in enumerate(refs)]
    del ac.state.contacts[refs[0]]  # deleted in ActiveCampaign while the change waited
    ac.state.contacts[refs[1]]["email"] = "moved@example.org"  # changed there meanwhile
    done = adapter.apply_many(changes)
    assert isinstance(done[changes[0].id], CrmNotFound)
    assert done[changes[1].id] is None  # written call by call, to the contact itself
    assert ac.state.contacts[refs[1]]["firstName"] == "Bulk1"
    emails = [c["email"] for c in ac.state.contacts.values()]
    assert "c0@example.org" not in emails and "c1@example.org" not in emails
    assert len(ac.server.calls_to("POST", "/api/3/import/bulk_import")) == 1
    assert [done[c.id] for c in changes[2:]] == [None] * 10


def test_few_changes_and_what_an_import_cannot_do_go_call_by_call(ac, tmp_path):
    adapter = ac.adapter(tmp_path)
    refs = [ac.seed_contact(f"c{n}@example.org", modified=WHEN, tags=("old-tag",))
            for n in range(12)]
    few = [saved(ac, ref, n) for n, ref in enumerate(refs[:9])]
    assert set(adapter.apply_many(few).values()) == {None}
    assert ac.server.calls_to("POST", "/api/3/import/bulk_import") == []  # fewer than ten
    assert len(ac.server.calls_to("PUT")) == 9
    ac.server.calls.clear()
    untagging = [saved(ac, ref, n, remove_tags=("old-tag",)) for n, ref in enumerate(refs)]
    assert set(adapter.apply_many(untagging).values()) == {None}
    assert ac.server.calls_to("POST", "/api/3/import/bulk_import") == []  # removes a tag
    assert all(ac.state.tags_of(ref) == {"member"} for ref in refs)
    box = ac.fields()["checkbox"]
    unticking = [Change(ref, f"c{n}@example.org", fields=(FieldUpdate(box, False),))
                 for n, ref in enumerate(refs)]
    assert set(adapter.apply_many(unticking).values()) == {None}
    assert ac.server.calls_to("POST", "/api/3/import/bulk_import") == []  # clears a value
    assert len(ac.server.calls_to("PUT")) == 12 + 12
