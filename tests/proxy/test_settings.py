"""The [theme], [embed] and [proxy] sections: what the portal sends, and the
mistakes the configuration check names."""

from __future__ import annotations

import pytest

from portal.config import ConfigError
from tests.support.config import served_at

THEME = '''[theme]
logo = "https://wp.example.org/wp-content/uploads/logo.svg"
logo_alt = "Demo Elkartea"
stylesheet = "https://wp.example.org/wp-content/themes/demo/style.css"

[theme.properties]
accent = "#8a1538"
font = '"Source Sans 3", system-ui, sans-serif'
radius = "4px"
'''


def test_theme_comes_as_a_stylesheet_and_the_policy_allows_its_hosts(make_app):
    client = make_app(append=THEME).test_client()
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert '<link rel="stylesheet" href="/theme.css">' in html
    assert 'href="https://wp.example.org/wp-content/themes/demo/style.css"' in html
    assert 'src="https://wp.example.org/wp-content/uploads/logo.svg" alt="Demo Elkartea"' in html
    assert " style=" not in html  # no inline styles: the policy keeps style-src strict
    policy = page.headers["Content-Security-Policy"]
    assert "style-src 'self' https://wp.example.org" in policy
    assert "font-src 'self' https://wp.example.org" in policy
    assert "'unsafe-inline'" not in policy
    css = client.get("/theme.css")
    assert css.mimetype == "text/css"
    assert "--portal-accent: #8a1538;" in css.get_data(as_text=True)
    assert "--portal-radius: 4px;" in css.get_data(as_text=True)


@pytest.mark.parametrize(("section", "place"), [
    ('[theme.properties]\naccent = "red; } body { display: none"\n', "theme.properties.accent"),
    ('[theme.properties]\nlogo_colour = "red"\n', "theme.properties.logo_colour"),
    ('[theme.properties]\naccent = "url(https://evil.example/x)"\n', "theme.properties.accent"),
    ('[embed]\nframe_ancestors = ["https://wp.example.org/page"]\n', "embed.frame_ancestors"),
    ('[embed]\nlanding_url = "https://wp.example.org/p/"\n', "embed.landing_url"),
    ('[proxy]\ntrusted_hops = "one"\n', "proxy.trusted_hops"),
])
def test_configuration_mistakes_are_named(make_app, section, place):
    with pytest.raises(ConfigError) as refused:
        make_app(append=section)
    assert any(place in problem for problem in refused.value.problems), refused.value.problems


def test_emailed_links_land_on_the_wordpress_page_when_configured(make_app, smtp):
    from tests.conftest import request_link
    from tests.support.smtp import link_in

    app = make_app(append='[embed]\nframe_ancestors = ["https://wp.example.org"]\n'
                          'landing_url = "https://wp.example.org/preferencias/"\n')
    request_link(app.test_client(), "demo@example.org")
    link = link_in(smtp.wait_for("demo@example.org")[0])
    assert link.startswith("https://wp.example.org/preferencias/?portal_path=/link/")


def test_proxy_hops_are_not_believed_beyond_the_configured_number(make_app):
    client = make_app(replace=served_at("https://wp.example.org/preferencias"),
                      append="[proxy]\ntrusted_hops = 1\n").test_client()
    page = client.get("/", base_url="http://wp.example.org",
                      headers={"X-Forwarded-Host": "evil.example, wp.example.org",
                               "X-Forwarded-Prefix": "/preferencias", "X-Forwarded-Proto": "https"})
    html = page.get_data(as_text=True)
    assert 'action="/preferencias/sign-in"' in html
    assert "evil.example" not in html


def test_check_config_knows_these_sections_without_the_app(tmp_path):
    import subprocess
    import sys

    from tests.support.config import demo_config

    path = demo_config(tmp_path, append=(
        '[embed]\nframe_ancestors = ["https://www.example.org"]\n[proxy]\ntrusted_hops = 1\n'
        '[theme.properties]\naccent = "#8a1538"\n[wordpress]\nclient_id = "portal"\n'
        'discovery_url = "https://www.example.org/.well-known/openid-configuration"\n'))
    done = subprocess.run([sys.executable, "-m", "flask", "check-config", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout


def test_a_form_posted_over_https_behind_the_proxy_is_accepted(make_app):
    from tests.conftest import csrf_token

    client = make_app(replace=served_at("https://www.example.org/preferencias"),
                      append="[proxy]\ntrusted_hops = 1\n").test_client()
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "www.example.org",
             "X-Forwarded-Port": "443", "X-Forwarded-Prefix": "/preferencias"}
    # As the proxy forwards it: the prefix stripped from the path, so the
    # client's cookie jar sees the public path the cookie is scoped to.
    public = "http://localhost/preferencias/"
    page = client.get("/", headers=https, base_url=public)
    # What a browser sends with the form, as the page's referrer policy allows.
    sent = dict(https, Origin="https://www.example.org")
    if page.headers.get("Referrer-Policy") != "no-referrer":
        sent["Referer"] = "https://www.example.org/preferencias/"
    answer = client.post("/sign-in", headers=sent, base_url=public,
                         data={"email": "demo@example.org", "csrf_token": csrf_token(page.data)})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
