"""Finding 4: sign-in and newsletter tokens in no log and, in the demo, in no
file that outlives its link."""

from __future__ import annotations

import logging
import os
import time

from tests.conftest import csrf_token, request_link
from tests.security.conftest import csrf_of
from tests.security.test_newsletter_links import newsletter_link
from tests.support.live import serve as serve_over_http
from tests.support.smtp import link_in

PUBLIC = "https://www.example.org/preferencias"


def test_gunicorns_access_log_holds_no_token(serve, smtp):
    portal = serve(PUBLIC)
    client = portal.session()
    page = client.get(portal.url + "/")
    client.post(portal.url + "/sign-in", data={"email": "demo@example.org",
                                               "csrf_token": csrf_of(page.text)})
    link = link_in(smtp.wait_for("demo@example.org")[-1])
    sign_in_token = link.rsplit("/", 1)[1]
    confirm = client.get(portal.url + "/link/" + sign_in_token)
    client.post(portal.url + "/link/" + sign_in_token, data={"csrf_token": csrf_of(confirm.text)})
    news_token = newsletter_link(portal).rsplit("/", 1)[1]
    client.get(portal.url + "/n/" + news_token)
    time.sleep(0.5)  # gunicorn writes its access log after the answer
    log = portal.log_text()
    assert "GET /link/" in log and "GET /n/" in log  # the requests are logged...
    assert sign_in_token not in log and news_token not in log  # ...their tokens are not
    assert sign_in_token[:12] not in log


def test_one_click_unsubscribes_leave_no_token_in_the_access_log(serve, smtp):
    portal = serve(PUBLIC)
    token = newsletter_link(portal).rsplit("/", 1)[1]
    mail_client = portal.session()
    mail_client.get(portal.url + "/u/" + token)  # a mail scanner
    answer = mail_client.post(portal.url + "/u/" + token + "/weekly",
                              data="List-Unsubscribe=One-Click",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
    time.sleep(0.5)  # gunicorn writes its access log after the answer
    log = portal.log_text()
    assert "GET /u/" in log and "POST /u/" in log  # the requests are logged...
    assert token not in log and token[:12] not in log  # ...their tokens are not


def test_the_development_servers_log_holds_no_token(app, smtp, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    with serve_over_http(app) as url:
        import requests

        browser = requests.Session()
        page = browser.get(url + "/")
        browser.post(url + "/sign-in", data={"email": "demo@example.org",
                                             "csrf_token": csrf_token(page.text)})
        token = link_in(smtp.wait_for("demo@example.org")[-1]).rsplit("/", 1)[1]
        browser.get(url + "/link/" + token)
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert any("/link/" in line for line in lines)
    assert not any(token[:12] in line for line in lines)


def test_the_demos_mail_files_go_when_their_links_expire(make_app, smtp):
    app = make_app(replace={'backends = ["console", "file"]': 'backends = ["smtp", "file"]\n'
                            f'smtp_host = "127.0.0.1"\nsmtp_port = {smtp.port}'})
    client = app.test_client()
    request_link(client, "demo@example.org")
    folder = app.instance_path + "/mail"
    _wait_until(lambda: os.path.isdir(folder) and len(os.listdir(folder)) == 1)
    [first] = os.listdir(folder)
    lifetime = app.config["PORTAL"].portal.link_lifetime_minutes * 60
    old = time.time() - lifetime - 1
    os.utime(os.path.join(folder, first), (old, old))
    request_link(client, "jon@example.org")
    smtp.wait_for("jon@example.org")
    # The expired link's file goes; the new link's, which still works, stays.
    _wait_until(lambda: first not in os.listdir(folder) and len(os.listdir(folder)) == 1)


def _wait_until(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
