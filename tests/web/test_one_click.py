"""One-click unsubscribe (RFC 8058): a mail client's POST of
`List-Unsubscribe=One-Click` to the address in the message's
`List-Unsubscribe` header unsubscribes, with no cookie and no CSRF token; a
GET only shows a confirm page; an unknown or revoked token gets the same
answer and changes nothing; each unsubscribe is a consent record and goes
through the writer, queued while the CRM cannot take it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from portal import create_app
from portal.crm.base import Change, FieldRef, FieldUpdate, ItemRef
from portal.delivery import delivery
from tests.resilience.conftest import EMAIL as ANE
from tests.resilience.conftest import Account, config_text, start_account, wait_until
from tests.rights.conftest import rows
from tests.web.test_profile import crm_of, demo_contact

ONE_CLICK = "List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"
WEEKLY, EVENTS, NOTICES = ItemRef("list", "1"), ItemRef("list", "2"), ItemRef("list", "3")
VOLUNTEERING = ItemRef("tag", "interest-volunteering")
ALL_ITEMS = [WEEKLY, EVENTS, NOTICES, VOLUNTEERING, ItemRef("tag", "interest-courses")]
ALL_MEANS_ALL = '\n[portal.unsubscribe]\none_click = "all"\n'


def issue(app: Flask, email: str = "demo@example.org", *options: str) -> dict[str, str]:
    """What `portal tokens issue` prints for `email`: its link and headers."""
    result = app.test_cli_runner().invoke(args=["tokens", "issue", *options, email])
    assert result.exit_code == 0, result.output
    printed = {"link": result.output.split(f"{email}: ", 1)[1].split()[0]}
    for name in ("List-Unsubscribe", "List-Unsubscribe-Post"):
        found = re.search(rf"^\s+{name}: (.+)$", result.output, re.MULTILINE)
        assert found, f"{name} not printed:\n{result.output}"
        printed[name] = found.group(1)
    return printed


def one_click_path(printed: dict[str, str]) -> str:
    """The path of the header's URL (the demo's public root is http://localhost...)."""
    url = printed["List-Unsubscribe"].strip("<>")
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def mail_client_post(app: Flask, path: str):
    """What a mail client sends: a fresh client, no cookie, no CSRF token."""
    return app.test_client().post(path, data=ONE_CLICK, content_type=FORM)


def subscribed(app: Flask, email: str = "demo@example.org") -> frozenset[ItemRef]:
    crm = delivery(app).crm
    return crm.fetch_profile(crm.find_contact(email), [], ALL_ITEMS).subscribed


def text_of(html: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))


def speaks_only_basque(app: Flask) -> Flask:
    """demo@example.org reads our email in Basque only (the demo's default is Spanish)."""
    crm = delivery(app).crm
    contact = crm.find_contact("demo@example.org")
    crm.apply(Change(contact.ref, contact.email,
                     fields=(FieldUpdate(FieldRef("languages", "multiselect"), ["eu"]),)))
    return app


@pytest.fixture
def app(make_app) -> Flask:
    return speaks_only_basque(make_app())


def test_tokens_issue_prints_both_headers(app):
    printed = issue(app)
    token = printed["link"].rsplit("/n/", 1)[1]
    assert printed["List-Unsubscribe"] == f"<{printed['link'].rsplit('/n/', 1)[0]}/u/{token}>"
    assert printed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    weekly = issue(app, "demo@example.org", "--item", "weekly")
    assert weekly["List-Unsubscribe"].endswith(f"/u/{token}/weekly>")  # the same token, kept
    result = app.test_cli_runner().invoke(args=["tokens", "issue", "--item", "nope",
                                                "demo@example.org"])
    assert result.exit_code != 0 and "No item has the key 'nope'" in result.output


def test_a_mail_clients_one_click_post_unsubscribes_without_cookie_or_csrf(app):
    path = one_click_path(issue(app))
    assert subscribed(app) == {WEEKLY, NOTICES, VOLUNTEERING}
    answer = mail_client_post(app, path)
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers
    assert answer.mimetype == "text/plain"
    # What "unsubscribe from all" leaves: the newsletters; the membership
    # notices (kept out of it by marketing) and the interests (tags) stay.
    assert subscribed(app) == {NOTICES, VOLUNTEERING}
    records = rows(app, "consent_records")
    assert [(r["item_key"], r["action"], r["door"]) for r in records] == \
        [("weekly", "left", "one-click")]
    assert records[0]["language"] == "eu"  # the contact's language
    events = rows(app, "change_events")
    assert [(e["event"], e["door"]) for e in events] == [("unsubscribed_all", "one-click")]


def test_a_get_never_unsubscribes_and_asks_in_the_contacts_language(app):
    path = one_click_path(issue(app))
    page = app.test_client().get(path)
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert '<html lang="eu">' in page.get_data(as_text=True)
    text = text_of(page.data)
    assert "Eman baja zuen mezu guztietatik" in text and "Sakatu botoia" in text
    assert f'<form method="post" action="{path}">' in page.get_data(as_text=True)
    assert 'name="csrf_token"' not in page.get_data(as_text=True)
    assert subscribed(app) == {WEEKLY, NOTICES, VOLUNTEERING}  # nothing changed
    assert rows(app, "consent_records") == []


def test_the_confirm_pages_button_unsubscribes_and_says_so_in_that_language(app):
    path = one_click_path(issue(app))
    browser = app.test_client()
    page = browser.get(path + "?lang=es")
    assert '<html lang="es">' in page.get_data(as_text=True)
    assert "Set-Cookie" not in page.headers  # the language is carried by the form, not a session
    done = browser.post(path, data={"lang": "es"})
    assert done.status_code == 200 and "Set-Cookie" not in done.headers
    assert "Te has dado de baja" in text_of(done.data)
    assert "Ya no recibirás nuestros correos." in text_of(done.data)
    assert '<html lang="es">' in done.get_data(as_text=True)
    assert subscribed(app) == {NOTICES, VOLUNTEERING}
    assert [r["language"] for r in rows(app, "consent_records")] == ["es"]


def test_an_unknown_or_revoked_token_gets_the_same_answer_and_changes_nothing(app):
    old = one_click_path(issue(app))
    new = one_click_path(issue(app, "demo@example.org", "--replace"))  # revokes the old one
    assert old != new
    unknown = "/u/" + "A" * 60
    answers = [mail_client_post(app, path) for path in (old, unknown, "/u/not-a-token")]
    assert {(a.status_code, a.get_data(as_text=True)) for a in answers} == {(200, "Unsubscribed.\n")}
    assert all("Set-Cookie" not in a.headers for a in answers)
    people = [app.test_client().post(path, data={"lang": "en"}) for path in (old, unknown)]
    pages = [p.get_data(as_text=True).replace(path.removeprefix("/u/"), "TOKEN")
             for p, path in zip(people, (old, unknown), strict=True)]
    assert pages[0] == pages[1] and people[0].status_code == people[1].status_code == 200
    assert subscribed(app) == {WEEKLY, NOTICES, VOLUNTEERING}
    assert rows(app, "consent_records") == []
    assert mail_client_post(app, new).get_data(as_text=True) == "Unsubscribed.\n"  # the same
    assert subscribed(app) == {NOTICES, VOLUNTEERING}


def test_a_per_item_link_leaves_just_that_item(app):
    path = one_click_path(issue(app, "jon@example.org", "--item", "events"))
    assert path.endswith("/events")
    assert subscribed(app, "jon@example.org") == {EVENTS}
    weekly_path = path.rsplit("/", 1)[0] + "/weekly"
    assert mail_client_post(app, weekly_path).status_code == 200  # not in it: nothing to do
    assert rows(app, "consent_records") == []
    assert mail_client_post(app, path).status_code == 200
    assert subscribed(app, "jon@example.org") == frozenset()
    records = rows(app, "consent_records")
    assert [(r["item_key"], r["action"], r["door"]) for r in records] == \
        [("events", "left", "one-click")]
    # The item's own follow-up runs, as when the contact unticks it.
    assert [e["event"] for e in rows(app, "change_events")] == ["saved"]
    assert app.test_client().get(path.rsplit("/", 1)[0] + "/nope").status_code == 404


def test_a_per_item_link_leaves_only_that_item_when_others_remain(app):
    path = one_click_path(issue(app, "demo@example.org", "--item", "weekly"))
    page = app.test_client().get(path + "?lang=en")
    assert "Unsubscribe from “Weekly newsletter”" in text_of(page.data)
    crm = crm_of(app.test_client())
    contact = demo_contact(app.test_client())
    crm.apply(Change(contact.ref, contact.email, join=(EVENTS,)))
    assert mail_client_post(app, path).status_code == 200
    assert subscribed(app) == {EVENTS, NOTICES, VOLUNTEERING}


def test_configured_all_makes_a_per_item_link_leave_all(make_app):
    app = make_app(append=ALL_MEANS_ALL)
    path = one_click_path(issue(app, "demo@example.org", "--item", "weekly"))
    crm = crm_of(app.test_client())
    contact = demo_contact(app.test_client())
    crm.apply(Change(contact.ref, contact.email, join=(EVENTS,)))
    page = app.test_client().get(path + "?lang=en")
    assert "Unsubscribe from all our emails" in text_of(page.data)
    assert mail_client_post(app, path).status_code == 200
    assert subscribed(app) == {NOTICES, VOLUNTEERING}
    assert sorted(r["item_key"] for r in rows(app, "consent_records")) == ["events", "weekly"]


def test_an_unknown_meaning_is_refused_in_the_configuration(make_app):
    with pytest.raises(Exception, match="one_click"):
        make_app(append='\n[portal.unsubscribe]\none_click = "some"\n')


def test_requests_are_limited_per_client_address(make_app):
    app = make_app(append='\n[portal.unsubscribe]\none_click_per_address_per_hour = 2\n')
    path = one_click_path(issue(app))
    client = app.test_client()
    answers = [client.get(path + "?lang=en"), mail_client_post(app, "/u/" + "B" * 60),
               mail_client_post(app, path)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].headers["Retry-After"]
    assert subscribed(app) == {WEEKLY, NOTICES, VOLUNTEERING}  # the refused one did nothing
    other = app.test_client().post(path, data=ONE_CLICK, content_type=FORM,
                                   environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200 and subscribed(app) == {NOTICES, VOLUNTEERING}


# --- while the CRM is down: an ActiveCampaign fake over loopback -------------------


class WritesFail:
    """WSGI middleware on the fake CRM: while `on`, every write answers 503."""

    def __init__(self, app: Callable) -> None:
        self.app, self.on = app, False

    def __call__(self, environ, start_response):
        if self.on and environ["REQUEST_METHOD"] != "GET":
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return [b'{"message": "Service Unavailable"}']
        return self.app(environ, start_response)


@pytest.fixture
def on_ac(smtp, tmp_path, monkeypatch) -> Iterator[tuple[Flask, Account]]:
    ac = start_account()
    monkeypatch.setenv("PORTAL_CRM_MAIN_API_TOKEN", ac.state.token)
    token_field = ac.state.add_field("Portal token", "text")
    monkeypatch.setenv("PORTAL_INSTANCE", str(tmp_path / "instance"))
    path = tmp_path / "portal.toml"
    path.write_text(config_text(ac, smtp.port, resilience={"limiter": False}).replace(
        'crm = "main"', f'crm = "main"\nnewsletter_token_field = "{token_field}"'),
        encoding="utf-8")
    app = create_app(path, {"TESTING": True})
    ac.state.contact_lists.append({"contact": ac.contact, "list": ac.weekly, "status": "1"})
    yield app, ac
    delivery(app).queue.stop_worker()
    ac.server.stop()


def test_while_the_crm_takes_no_writes_the_unsubscribe_is_queued_and_lands(on_ac):
    app, ac = on_ac
    path = one_click_path(issue(app, ANE))
    assert ac.lists() == {ac.weekly}
    writes = WritesFail(ac.server.app.wsgi_app)
    ac.server.app.wsgi_app = writes  # type: ignore[method-assign]
    writes.on = True
    answer = mail_client_post(app, path)
    assert answer.status_code == 200  # the writer keeps it: nothing is lost
    assert ac.lists() == {ac.weekly}
    assert len(delivery(app).ledger.entries()) == 1
    assert [(r["item_key"], r["door"]) for r in rows(app, "consent_records")] == \
        [("weekly", "one-click")]
    writes.on = False
    delivery(app).queue.start_worker()
    wait_until(lambda: not delivery(app).ledger.entries(), what="the unsubscribe to land")
    assert ac.lists() == set()


def test_while_the_crm_is_down_the_answer_is_503_with_retry_after(on_ac):
    app, ac = on_ac
    path = one_click_path(issue(app, ANE))
    ac.server.go_down()
    answer = mail_client_post(app, path)
    assert answer.status_code == 503 and int(answer.headers["Retry-After"]) > 0
    assert "Set-Cookie" not in answer.headers
    assert rows(app, "consent_records") == [] and not delivery(app).ledger.entries()
    ac.server.come_back()
    assert mail_client_post(app, path).status_code == 200  # the mail client's retry
    assert ac.lists() == set()
    assert [r["door"] for r in rows(app, "consent_records")] == ["one-click"]
