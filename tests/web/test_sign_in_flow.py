"""The whole door: ask for a link, receive it by real SMTP, use it once."""

from __future__ import annotations

import requests

from tests.conftest import csrf_token, sign_in
from tests.support.live import serve
from tests.support.smtp import link_in


def test_contact_signs_in_by_emailed_link_over_real_http(app, smtp):
    with serve(app) as base:
        browser = requests.Session()
        start = browser.get(base + "/")
        assert start.status_code == 200
        sent = browser.post(base + "/sign-in", data={
            "email": "demo@example.org", "csrf_token": csrf_token(start.text)})
        assert sent.status_code == 200 and sent.url.endswith("/sign-in/sent")
        message = smtp.wait_for("demo@example.org")[0]
        link = link_in(message)
        assert link.startswith(base + "/link/")
        opened = browser.get(link)
        assert opened.status_code == 200
        # Opening the link (as a mail scanner does) signs nobody in.
        assert browser.get(base + "/profile/", allow_redirects=False).status_code == 302
        signed = browser.post(link, data={"csrf_token": csrf_token(opened.text)})
        assert signed.url == base + "/profile/"
        assert "Ane" in signed.text and "demo@example.org" in signed.text


def test_link_works_once(client, smtp):
    sign_in(client, smtp)
    link = link_in(smtp.sent_to("demo@example.org")[-1])
    again = client.get(link.split("localhost", 1)[-1] if "localhost" in link else link)
    assert again.status_code == 410
