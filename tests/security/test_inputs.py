"""Finding 7: what contacts, WordPress and the configuration hand the
portal is checked before it reaches the CRM or a response header."""

from __future__ import annotations

import pytest

from portal.config import ConfigError
from tests.conftest import sign_in
from tests.fakes.wordpress import Member
from tests.web.test_profile import current_form

PUBLIC = "https://www.example.org/preferencias"


@pytest.mark.parametrize("sneaky", ["Ane\x00", "Ane\x1b[2J", "Ane\u202eenA", "A\u200bne", "\ufeffAne"])
def test_control_and_invisible_characters_are_refused_and_nothing_is_written(client, smtp, sneaky):
    sign_in(client, smtp)
    client.get("/profile/?lang=eu")
    form = current_form(client)
    form["first_name"] = sneaky
    answer = client.post("/profile/", data=form)
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert "karaktere ikusezinak" in html  # the message, in Basque
    assert 'value="' in html and "Etxeberria" in html  # what was typed is kept
    crm = client.application.extensions["portal.delivery"].crm
    contact = crm.find_contact("demo@example.org")
    from portal.crm.base import FieldRef

    stored = crm.fetch_profile(contact, [FieldRef("first_name")], []).values["first_name"]
    assert stored == "Ane"


def test_a_comment_keeps_its_line_breaks_but_not_an_escape(make_app, smtp):
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "config" / "demo.toml").read_text()
    assert 'type = "textarea"' in text  # the demo has a comment box
    client = make_app().test_client()
    sign_in(client, smtp)
    base = current_form(client)
    assert client.post("/profile/", data={**base, "comments": "Kaixo\r\nzer moduz?"}).status_code == 302
    base = current_form(client)
    assert client.post("/profile/", data={**base, "comments": "Kaixo\x1b]0;x\x07"}).status_code == 400


def test_strict_transport_security_behind_https(make_app):
    from tests.support.config import served_at

    app = make_app(replace=served_at(PUBLIC))
    answer = app.test_client().get("/", base_url="https://www.example.org/preferencias/")
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
    demo = make_app().test_client().get("/")
    assert "Strict-Transport-Security" not in demo.headers  # http on this machine


@pytest.mark.parametrize("stylesheet", ["https://cdn.example.org/a.css; script-src *",
                                        "https://cdn.example.org;script-src *",
                                        'https://cdn.example.org/a.css" onload="x'])
def test_a_stylesheet_address_cannot_smuggle_policy_directives(make_app, stylesheet):
    with pytest.raises(ConfigError) as refused:
        make_app(append=f"[theme]\nstylesheet = '{stylesheet}'\n")
    assert any("theme.stylesheet" in p for p in refused.value.problems)


@pytest.mark.parametrize("claimed", ["not an email", "miren@", "<script>@example.org"])
def test_wordpress_cannot_create_a_contact_from_something_that_is_not_an_email(
        wordpress_login, claimed):
    with wordpress_login("oidc", extra="create_contacts = true\n") as dance:
        dance.provider.provider.member = Member(user_login="miren", email=claimed,
                                                display_name="Miren\u202eAgirre")
        answer = dance.consent(dance.start())
        assert answer.status_code == 403
        assert "not valid" in answer.text or "no es válida" in answer.text
        assert not dance.signed_in()
        crm = dance.app.extensions["portal.delivery"].crm
        assert crm.find_contacts(claimed) == []
