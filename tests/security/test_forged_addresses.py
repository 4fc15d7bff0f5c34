"""Finding 1 and 6 of the security review: a forged Host or X-Forwarded-*
header must never put another address in a link the portal sends, nor in
a page's forms and redirects."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.security.conftest import csrf_of
from tests.support.smtp import link_in

PUBLIC = "https://www.example.org/preferencias"
PROXY = "[proxy]\ntrusted_hops = 1\n"
WORDPRESS = """[wordpress]
kind = "oauth2"
client_id = "portal"
authorize_url = "https://www.example.org/oauth/authorize"
token_url = "https://www.example.org/oauth/token"
userinfo_url = "https://www.example.org/oauth/me"
"""


def ask_for_link(client, base: str, email: str = "demo@example.org", **headers):
    page = client.get(base + "/", headers=headers)
    if page.status_code != 200:
        return page
    return client.post(base + "/sign-in", data={"email": email, "csrf_token": csrf_of(page.text)},
                       headers=headers, allow_redirects=False)


def test_a_forged_host_gets_no_sign_in_link_sent_to_it(serve, smtp):
    portal = serve(PUBLIC)
    attacker = portal.session(host="evil.example.net")
    answer = ask_for_link(attacker, portal.url)
    assert answer.status_code == 400
    # The contact's own request, from the real site, carries the public address.
    assert ask_for_link(portal.session(), portal.url).status_code == 302
    link = link_in(smtp.wait_for("demo@example.org")[-1])
    assert link.startswith(PUBLIC + "/link/")
    assert all("evil" not in link_in(m) for m in smtp.sent_to("demo@example.org"))


def test_a_forged_forwarded_host_behind_the_proxy_changes_no_link(serve, smtp):
    portal = serve(PUBLIC, append=PROXY)
    forged = {"X-Forwarded-Host": "evil.example.net", "X-Forwarded-Proto": "https"}
    answer = ask_for_link(portal.session(), portal.url, **forged)
    assert answer.status_code in (302, 400)
    if answer.status_code == 302:
        assert "evil" not in answer.headers["Location"]
    for message in smtp.sent_to("demo@example.org"):
        assert link_in(message).startswith(PUBLIC + "/link/")


def test_a_forged_host_cannot_redirect_the_wordpress_login_elsewhere(serve):
    portal = serve(PUBLIC, append=PROXY + WORDPRESS)
    for headers in ({"Host": "evil.example.net"}, {"X-Forwarded-Host": "evil.example.net"}):
        client = portal.session()
        answer = client.get(portal.url + "/wordpress/login", headers=headers, allow_redirects=False)
        if answer.status_code == 400:
            continue
        assert answer.status_code == 302
        redirect_uri = parse_qs(urlsplit(answer.headers["Location"]).query)["redirect_uri"][0]
        assert redirect_uri == PUBLIC + "/wordpress/callback"


def test_a_forwarded_prefix_that_is_not_a_path_poisons_nothing(serve):
    portal = serve(PUBLIC, append=PROXY)
    page = portal.session().get(portal.url + "/", headers={"X-Forwarded-Prefix": "//evil.example"})
    assert page.status_code == 200
    assert 'action="/preferencias/sign-in"' in page.text
    assert "evil" not in page.text and "evil" not in page.headers.get("Set-Cookie", "")


def test_the_demo_answers_only_on_this_machine(serve):
    portal = serve("http://127.0.0.1:5000", replace={
        'demo = false\npublic_url = "http://127.0.0.1:5000"': "demo = true"})
    assert portal.session(host="127.0.0.1").get(portal.url + "/").status_code == 200
    refused = portal.session(host="www.example.org").get(portal.url + "/")
    assert refused.status_code == 400
