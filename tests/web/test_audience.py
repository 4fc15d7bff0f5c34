"""A members-only portal: only contacts with the audience's tags get a
sign-in link, every address gets the same answer, and fields and items kept
for some tags are neither shown to nor accepted from the others."""

from __future__ import annotations

import time

import pytest

from portal.config import ConfigError, current, load_config
from portal.crm.base import Change
from portal.delivery import delivery
from tests.conftest import sign_in
from tests.support.config import demo_config
from tests.web.test_profile import current_form
from tests.web.test_sign_in_requests import ask

MEMBERS_ONLY = """
[portal.audience]
tags = ["member"]
join_url.es = "https://www.example.org/es/hazte-socio/"
join_url.eu = "https://www.example.org/eu/bazkidetu/"
join_url.en = "https://www.example.org/en/join/"
"""
# The sector field and the courses item only for contacts tagged "member".
KEPT_FOR_MEMBERS = {
    'key = "sector"\n': 'key = "sector"\naudience = { tags = ["member"] }\n',
    'key = "courses"\n': 'key = "courses"\n  audience = { tags = ["member"] }\n',
}
MEMBER, OTHER, UNKNOWN = "demo@example.org", "jon@example.org", "nobody@example.org"


def tag(app, email: str, *tags: str) -> None:
    crm = delivery(app).crm
    contact = crm.find_contact(email)
    crm.apply(Change(contact.ref, contact.email, add_tags=tags))


def masked(page: bytes, email: str) -> bytes:
    return page.replace(email.encode(), b"X")


def test_members_get_a_link_others_a_letter_and_everyone_the_same_page(make_app, smtp):
    app = make_app(append=MEMBERS_ONLY)
    tag(app, MEMBER, "member")
    answers = {email: ask(app.test_client(), email) for email in (MEMBER, OTHER, UNKNOWN)}
    assert {answer.status_code for answer in answers.values()} == {200}
    assert len({masked(answer.data, email) for email, answer in answers.items()}) == 1
    member_mail = smtp.wait_for(MEMBER)[0]
    assert "/link/" in member_mail.get_body(("plain",)).get_content()
    other_mail = smtp.wait_for(OTHER)[0]
    text = other_mail.get_body(("plain",)).get_content()
    assert "/link/" not in text
    assert "https://www.example.org/es/hazte-socio/" in text  # how to become one, in Spanish
    assert "socios" in other_mail["Subject"]
    time.sleep(0.3)  # give a (wrong) email to the unknown address time to arrive
    assert smtp.sent_to(UNKNOWN) == []
    assert len(smtp.sent_to(MEMBER)) == len(smtp.sent_to(OTHER)) == 1


def test_a_member_signs_in_and_a_lapsed_one_is_only_told(make_app, smtp):
    app = make_app(append=MEMBERS_ONLY)
    tag(app, MEMBER, "member")
    sign_in(app.test_client(), smtp, MEMBER)  # asks, opens the link, lands on the profile
    crm = delivery(app).crm
    member = crm.find_contact(MEMBER)
    crm.apply(Change(member.ref, member.email, remove_tags=("member",)))  # the membership lapsed
    ask(app.test_client(), MEMBER)
    letters = smtp.wait_for(MEMBER, count=2)
    assert "/link/" not in letters[-1].get_body(("plain",)).get_content()


def test_others_may_be_told_nothing(make_app, smtp):
    app = make_app(append=MEMBERS_ONLY.replace('tags = ["member"]',
                                               'tags = ["member"]\ntell_others = false'))
    tag(app, MEMBER, "member")
    ask(app.test_client(), OTHER)
    ask(app.test_client(), MEMBER)
    smtp.wait_for(MEMBER)
    time.sleep(0.3)
    assert smtp.sent_to(OTHER) == []


def test_fields_and_items_for_members_are_hidden_from_others(make_app, smtp):
    app = make_app(replace=KEPT_FOR_MEMBERS)
    tag(app, MEMBER, "member")
    other = app.test_client()
    sign_in(other, smtp, OTHER)
    page = other.get("/profile/?lang=en").data.decode()
    assert 'name="sector"' not in page and 'name="sub_courses"' not in page
    assert "Courses and training" not in page and "Sector" not in page
    assert 'name="sub_weekly"' in page and 'name="first_name"' in page
    member = app.test_client()
    sign_in(member, smtp, MEMBER)
    page = member.get("/profile/?lang=en").data.decode()
    assert 'name="sector"' in page and 'name="sub_courses"' in page


def test_a_form_forged_with_a_members_only_item_or_field_is_refused(make_app, smtp):
    app = make_app(replace=KEPT_FOR_MEMBERS)
    client = app.test_client()
    sign_in(client, smtp, OTHER)
    for forged in ({"sub_courses": "y"}, {"sector": "culture"}):
        form = {**current_form(client), **forged}
        answer = client.post("/profile/", data=form)
        assert answer.status_code == 400
        assert "Nothing was saved" in answer.data.decode() or "No se ha guardado" in \
            answer.data.decode()
    contact = delivery(app).crm.find_contact(OTHER)
    assert "interest-courses" not in delivery(app).crm.tags_of(contact.ref)
    assert delivery(app).crm.fetch_profile(contact, [current_field(app, "sector")], []) \
        .values.get("sector") is None


def current_field(app, key: str):
    with app.app_context():
        return current().field(key).ref


def test_the_workspace_keeps_audiences(make_app):
    """The published layout carries each field's and item's audience as the file says."""
    app = make_app(replace=KEPT_FOR_MEMBERS)
    file = app.config["PORTAL"]
    assert file.field("sector").audience == ("member",)
    with app.app_context():
        served = current()
        assert served.fields == file.fields and served.groups == file.groups
        assert served.field("sector").audience == ("member",)


@pytest.mark.parametrize("setting, problem", [
    ('[portal.audience]\ntags = "member"', "portal.audience.tags"),
    ('[portal.audience]\ntags = ["member"]\ncolour = "red"', "portal.audience.colour"),
    ('[portal.audience]\njoin_url = "ftp://example.org"', "portal.audience.join_url"),
])
def test_a_wrong_audience_is_reported(tmp_path, setting, problem):
    with pytest.raises(ConfigError) as refused:
        load_config(demo_config(tmp_path, append=setting))
    assert any(problem in line for line in refused.value.problems), refused.value.problems


def test_a_wrong_field_audience_is_reported(tmp_path):
    path = demo_config(tmp_path, replace={'key = "sector"\n': 'key = "sector"\naudience = ["x"]\n'})
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert any("audience" in line for line in refused.value.problems)


def test_staff_edit_who_sees_a_field(make_app):
    from portal.staff.editing import update_field, update_item

    table: dict = {"key": "sector"}
    update_field(table, {"key": "sector", "crm_field": "sector", "type": "select",
                         "audience_tags": "member, board"})
    assert table["audience"] == {"tags": ["member", "board"]}
    update_field(table, {"key": "sector", "crm_field": "sector", "type": "select",
                         "audience_tags": " "})
    assert "audience" not in table
    item: dict = {}
    update_item(item, {"key": "courses", "kind": "tag", "ref": "x", "audience_tags": "member"})
    assert item["audience"] == {"tags": ["member"]}
