"""`create_contacts = true` against a remote CRM: a WordPress member with no
contact gets one in ActiveCampaign (its fake, over real HTTP) and lands on
the preferences page."""

from __future__ import annotations

import pytest

from tests.fakes import activecampaign as fake
from tests.fakes.wordpress import Member

LOCAL_CRM = 'type = "local"\npath = "demo-crm.sqlite3"             # under the instance folder'


@pytest.fixture
def account(monkeypatch):
    server, state = fake.serve()
    monkeypatch.setenv("PORTAL_CRM_MAIN_API_TOKEN", state.token)
    yield server, state
    server.stop()


def test_member_without_contact_gets_one_in_activecampaign(wordpress_login, account):
    server, state = account
    ac_crm = {LOCAL_CRM: f'type = "activecampaign"\nbase_url = "{server.url}"'}
    with wordpress_login("oidc", extra="create_contacts = true\n", replace=ac_crm) as dance:
        dance.provider.provider.member = Member(user_login="miren", email="miren@example.org",
                                                display_name="Miren Agirre Etxeberria")
        profile = dance.consent(dance.start())
        assert profile.url == dance.portal + "/profile/"
        assert "miren@example.org" in profile.text
        assert dance.signed_in()
        # Signing in again finds the contact made the first time.
        dance.browser.cookies.clear()
        assert dance.consent(dance.start()).url == dance.portal + "/profile/"
    made = [c for c in state.contacts.values() if c["email"] == "miren@example.org"]
    assert len(made) == 1
    assert (made[0]["firstName"], made[0]["lastName"]) == ("Miren", "Agirre Etxeberria")
