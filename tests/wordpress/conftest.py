"""The portal with its WordPress login pointed at a fake provider, both over
real HTTP on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask

from portal.auth.wordpress import SECRET_ENV
from tests.fakes.wordpress import CLIENT_ID, CLIENT_SECRET, OAuthWordPress, OidcWordPress
from tests.support.live import serve
from tests.support.smtp import free_port

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass
class Dance:
    portal: str
    provider: OidcWordPress | OAuthWordPress
    browser: requests.Session
    app: Flask

    def start(self) -> requests.Response:
        """Press "Sign in with …": the answer is the provider's consent page."""
        return self.browser.get(self.portal + "/wordpress/login", timeout=10)

    def consent(self, page: requests.Response, choice: str = "Authorize",
                follow: bool = True) -> requests.Response:
        fields = dict(HIDDEN.findall(page.text))
        fields["authorize"] = choice
        return self.browser.post(page.url.split("?")[0], data=fields, timeout=10,
                                 allow_redirects=follow)

    def signed_in(self) -> bool:
        answer = self.browser.get(self.portal + "/profile/", timeout=10, allow_redirects=False)
        return answer.status_code == 200


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def oidc_section(provider: OidcWordPress, extra: str = "") -> str:
    return (f'[wordpress]\nkind = "oidc"\nsite_name = "Demo Elkartea"\nclient_id = "{CLIENT_ID}"\n'
            f'discovery_url = "{provider.discovery_url}"\n{extra}')


def oauth_section(provider: OAuthWordPress, extra: str = "") -> str:
    return (f'[wordpress]\nkind = "oauth2"\nsite_name = "Demo Elkartea"\nclient_id = "{CLIENT_ID}"\n'
            f'authorize_url = "{provider.url}/oauth/authorize"\n'
            f'token_url = "{provider.url}/oauth/token"\n'
            f'userinfo_url = "{provider.url}/oauth/me"\n{extra}')


@pytest.fixture
def wordpress_login(make_app, monkeypatch):
    """`with wordpress_login("oidc") as dance:` – the portal and a provider, running;
    `replace` changes the demo configuration (e.g. its CRM block)."""
    monkeypatch.setenv(SECRET_ENV, CLIENT_SECRET)

    @contextmanager
    def running(kind: str = "oidc", extra: str = "",
                replace: dict[str, str] | None = None) -> Iterator[Dance]:
        provider = OidcWordPress() if kind == "oidc" else OAuthWordPress()
        provider.port = free_port()
        with provider:
            section = oidc_section(provider, extra) if kind == "oidc" else oauth_section(provider, extra)
            app = make_app(append=section, replace=replace)
            with serve(app) as portal:
                provider.provider.redirect_uri = portal + "/wordpress/callback"
                yield Dance(portal, provider, requests.Session(), app)

    return running
