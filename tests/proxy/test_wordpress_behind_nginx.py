"""The WordPress login behind nginx under /preferencias/: the redirect URI the
provider sees, and every hop back, carry the public host and the prefix."""

from __future__ import annotations

import requests

from portal.auth.wordpress import SECRET_ENV
from tests.fakes.wordpress import CLIENT_SECRET, OidcWordPress
from tests.proxy.support import upstream
from tests.support.smtp import free_port
from tests.wordpress.conftest import Dance, oidc_section, query


def test_wordpress_login_behind_nginx_keeps_the_prefix(make_app, nginx, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, CLIENT_SECRET)
    provider = OidcWordPress()
    provider.port = free_port()
    with provider:
        app = make_app(append="[proxy]\ntrusted_hops = 1\n" + oidc_section(provider))
        with upstream(app, nginx):
            portal = nginx.portal.rstrip("/")
            provider.provider.redirect_uri = portal + "/wordpress/callback"
            dance = Dance(portal, provider, requests.Session(), app)
            start = dance.browser.get(nginx.portal, timeout=10)
            assert 'href="/preferencias/wordpress/login"' in start.text
            consent = dance.start()
            assert query(consent.url)["redirect_uri"] == portal + "/wordpress/callback"
            profile = dance.consent(consent)
            assert profile.url == nginx.portal + "profile/"
            assert "demo@example.org" in profile.text
