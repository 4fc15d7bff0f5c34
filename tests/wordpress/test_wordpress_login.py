"""The WordPress login, the whole dance over real HTTP, against fakes of the
"OpenID Connect Server" and "WP OAuth Server" plugins."""

from __future__ import annotations

import pytest

from portal.config import ConfigError
from portal.delivery import delivery
from tests.fakes.wordpress import Member
from tests.wordpress.conftest import query


def test_sign_in_page_offers_the_wordpress_door(wordpress_login):
    with wordpress_login("oidc") as dance:
        page = dance.browser.get(dance.portal + "/", timeout=10)
    assert 'href="/wordpress/login"' in page.text
    assert "Demo Elkartea" in page.text


def test_oidc_member_reaches_preferences_without_another_sign_in(wordpress_login):
    with wordpress_login("oidc") as dance:
        consent = dance.start()
        asked = query(consent.url)
        assert consent.url.startswith(dance.provider.url + "/wp-json/openid-connect/authorize")
        assert asked["redirect_uri"] == dance.portal + "/wordpress/callback"
        assert asked["scope"] == "openid profile"
        assert asked["state"] and asked["nonce"]
        # The plugin does not advertise PKCE, so none is sent.
        assert "code_challenge" not in asked
        profile = dance.consent(consent)
        assert profile.url == dance.portal + "/profile/"
        assert "demo@example.org" in profile.text
        assert dance.signed_in()


def test_oidc_denied_consent_signs_nobody_in(wordpress_login):
    with wordpress_login("oidc") as dance:
        answer = dance.consent(dance.start(), choice="Cancel")
        assert answer.status_code == 403
        assert 'role="alert"' in answer.text
        assert not dance.signed_in()


@pytest.mark.parametrize("kind", ["oidc", "oauth2"])
def test_callback_with_a_state_this_browser_never_sent_is_refused(wordpress_login, kind):
    with wordpress_login(kind) as dance:
        consent = dance.start()
        to_portal = dance.consent(consent, follow=False)
        callback = to_portal.headers["Location"]
        assert callback.startswith(dance.portal + "/wordpress/callback?code=")
        # Someone else's browser (a login CSRF) opens the callback.
        import requests

        other = requests.Session()
        answer = other.get(callback, timeout=10)
        assert answer.status_code == 400
        assert other.get(dance.portal + "/profile/", allow_redirects=False,
                         timeout=10).status_code == 302
        # A forged state in the right browser is refused too.
        forged = callback.replace("state=", "state=x")
        assert dance.browser.get(forged, timeout=10).status_code == 400
        assert not dance.signed_in()


def test_expired_code_is_refused(wordpress_login):
    with wordpress_login("oidc") as dance:
        dance.provider.provider.code_lifetime = -1
        answer = dance.consent(dance.start())
        assert answer.status_code == 400
        assert dance.provider.provider.token_requests  # the portal did try to use it
        assert not dance.signed_in()


def test_id_token_with_another_nonce_is_refused(wordpress_login):
    with wordpress_login("oidc") as dance:
        dance.provider.provider.replay_nonce = "nonce-of-an-older-login"
        answer = dance.consent(dance.start())
        assert answer.status_code == 400
        assert not dance.signed_in()


def test_provider_down_before_login_gives_a_clear_page(wordpress_login):
    with wordpress_login("oidc") as dance:
        dance.provider.go_down()
        answer = dance.start()
        assert answer.status_code == 503
        assert 'href="/"' in answer.text  # the way to an emailed link
        assert not dance.signed_in()


@pytest.mark.parametrize("kind", ["oidc", "oauth2"])
def test_provider_down_during_token_exchange_gives_a_clear_page(wordpress_login, kind):
    with wordpress_login(kind) as dance:
        to_portal = dance.consent(dance.start(), follow=False)
        dance.provider.go_down()
        answer = dance.browser.get(to_portal.headers["Location"], timeout=30)
        assert answer.status_code == 503
        assert not dance.signed_in()


def test_email_the_provider_marks_unverified_is_refused(wordpress_login):
    with wordpress_login("oidc") as dance:
        dance.provider.provider.email_verified = False
        answer = dance.consent(dance.start())
        assert answer.status_code == 403
        assert not dance.signed_in()


def test_verified_email_is_accepted(wordpress_login):
    with wordpress_login("oidc") as dance:
        dance.provider.provider.email_verified = True
        assert dance.consent(dance.start()).url == dance.portal + "/profile/"


def test_provider_without_email_claim_gives_a_clear_page(wordpress_login):
    with wordpress_login("oidc") as dance:
        dance.provider.provider.email_claim = False  # the site lacks the oidc_user_claims filter
        answer = dance.consent(dance.start())
        assert answer.status_code == 403
        assert not dance.signed_in()


def test_member_without_crm_contact_sees_a_clear_page(wordpress_login):
    with wordpress_login("oidc") as dance:
        dance.provider.provider.member = Member(user_login="miren", email="miren@example.org",
                                                display_name="Miren Agirre")
        answer = dance.consent(dance.start())
        assert answer.status_code == 404
        assert "miren@example.org" in answer.text
        assert not dance.signed_in()


def test_member_without_contact_gets_one_when_configured(wordpress_login):
    with wordpress_login("oidc", extra="create_contacts = true\n") as dance:
        dance.provider.provider.member = Member(user_login="miren", email="miren@example.org",
                                                display_name="Miren Agirre")
        profile = dance.consent(dance.start())
        assert profile.url == dance.portal + "/profile/"
        assert "miren@example.org" in profile.text
        created = delivery(dance.app).crm.find_contact("miren@example.org")
        assert created is not None and created.name == "Miren Agirre"


def test_wp_oauth_server_member_signs_in_with_pkce(wordpress_login):
    with wordpress_login("oauth2") as dance:
        consent = dance.start()
        asked = query(consent.url)
        assert consent.url.startswith(dance.provider.url + "/oauth/authorize")
        assert asked["code_challenge_method"] == "S256" and asked["code_challenge"]
        assert asked["state"]
        profile = dance.consent(consent)
        assert profile.url == dance.portal + "/profile/"
        assert "demo@example.org" in profile.text
        assert dance.provider.provider.token_requests[-1]["code_verifier"]
        assert dance.provider.calls_to("GET", "/oauth/me")


def test_wp_oauth_server_denied_and_expired(wordpress_login):
    with wordpress_login("oauth2") as dance:
        assert dance.consent(dance.start(), choice="Cancel").status_code == 403
        dance.provider.provider.code_lifetime = -1
        assert dance.consent(dance.start()).status_code == 400
        assert not dance.signed_in()


def test_incomplete_configuration_is_refused_by_line(make_app):
    with pytest.raises(ConfigError) as refused:
        make_app(append='[wordpress]\nkind = "oidc"\nclient_id = "x"\n')
    assert any("wordpress.discovery_url" in problem for problem in refused.value.problems)


def test_in_iframe_mode_the_login_opens_in_the_whole_window_and_returns_to_the_page(
        wordpress_login):
    embed = ('[embed]\nframe_ancestors = ["https://www.example.org"]\n'
             'landing_url = "https://www.example.org/preferencias/"\n')
    with wordpress_login("oidc", extra=embed) as dance:
        start = dance.browser.get(dance.portal + "/", timeout=10)
        assert 'href="/wordpress/login" target="_top"' in start.text
        login = dance.start()
        # The test speaks plain HTTP; the cookie is Secure (as iframe mode needs), so
        # let requests send it back the way a browser does on loopback.
        for cookie in dance.browser.cookies:
            cookie.secure = False
        to_portal = dance.consent(login, follow=False)
        back = dance.browser.get(to_portal.headers["Location"], allow_redirects=False, timeout=10)
        assert back.status_code == 302
        assert back.headers["Location"] == "https://www.example.org/preferencias/"


def test_without_configuration_there_is_no_wordpress_door(client):
    assert "/wordpress/login" not in client.get("/").get_data(as_text=True)
    assert client.get("/wordpress/login").status_code == 404
    assert client.get("/wordpress/callback?code=x&state=y").status_code == 404
