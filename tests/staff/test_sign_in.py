"""Staff come in by an emailed link (addresses on the staff list) or by the
WordPress plugin's assertion (roles the configuration allows); their session
is their own, shorter than a contact's, and never a contact's."""

from __future__ import annotations

import time

import requests

from portal.config.wordpress import ASSERTION_SECRET_ENV
from portal.hosting.logs import redact
from tests.conftest import sign_in
from tests.staff.conftest import EDITOR, PUBLISHER, sign_in_staff, staff_link, token_of
from tests.support.live import serve
from tests.wordpress.assertions import SECRET, claims_for, door_section, sign


def test_a_staff_link_opens_the_workspace_and_no_contact_page(staff_app, smtp):
    client = staff_app.test_client()
    sign_in_staff(client, smtp)
    assert b"marketing@example.org" in client.get("/staff/draft").data
    profile = client.get("/profile/")
    assert profile.status_code == 302 and profile.headers["Location"].endswith("/")


def test_a_contacts_sign_in_opens_no_workspace(staff_app, smtp):
    client = staff_app.test_client()
    sign_in(client, smtp)  # demo@example.org, a contact
    answer = client.get("/staff/draft")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/staff/")


def test_links_of_one_door_do_not_open_the_other(staff_app, smtp):
    client = staff_app.test_client()
    page = client.get("/staff/")
    client.post("/staff/sign-in", data={"email": PUBLISHER, "csrf_token": token_of(page.data)})
    staff_path = staff_link(smtp, PUBLISHER, 1)
    token = staff_path.rsplit("/", 1)[1]
    assert client.get(f"/link/{token}").status_code == 400  # unknown to the contacts' door
    sign_in(client, smtp)
    contact_token = smtp.sent_to("demo@example.org")[-1].get_body(("plain",)).get_content()
    contact_token = contact_token.split("/link/", 1)[1].split()[0]
    assert client.get(f"/staff/link/{contact_token}").status_code == 400
    assert client.get(staff_path).status_code == 200  # still unused, still good


def test_an_address_off_the_staff_list_gets_the_same_answer_and_no_email(staff_app, smtp):
    client = staff_app.test_client()
    page = client.get("/staff/")
    answer = client.post("/staff/sign-in", data={"email": "demo@example.org",
                                                 "csrf_token": token_of(page.data)})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/staff/sign-in/sent")
    time.sleep(0.5)
    assert smtp.sent_to("demo@example.org") == []


def test_a_link_works_once(staff_app, smtp):
    client = staff_app.test_client()
    sign_in_staff(client, smtp)
    link = staff_link(smtp, PUBLISHER, 1)
    again = staff_app.test_client().get(link)
    assert again.status_code == 410 and "ya se ha usado" in again.data.decode()


def test_sign_out_ends_the_staff_session_only(staff_app, smtp):
    client = staff_app.test_client()
    sign_in(client, smtp)
    sign_in_staff(client, smtp)
    page = client.get("/staff/draft")
    client.post("/staff/sign-out", data={"csrf_token": token_of(page.data)})
    assert client.get("/staff/draft").status_code == 302
    assert client.get("/profile/").status_code == 200  # the contact's session goes on


def test_the_staff_session_ends_after_its_idle_time(staff_app, smtp, monkeypatch):
    client = staff_app.test_client()
    sign_in_staff(client, smtp)
    later = time.time() + 16 * 60  # the default idle time is 15 minutes, a contact's 30
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get("/staff/draft").status_code == 302


def test_an_editor_cannot_publish(staff_app, smtp):
    client = staff_app.test_client()
    sign_in_staff(client, smtp, EDITOR)
    page = client.get("/staff/draft")
    assert "Publicar como versión" not in page.data.decode()
    answer = client.post("/staff/publish", data={"csrf_token": token_of(page.data), "note": "x"})
    assert answer.status_code == 403


def test_wordpress_members_with_an_allowed_role_come_in(make_app, monkeypatch):
    monkeypatch.setenv(ASSERTION_SECRET_ENV, SECRET)
    app = make_app(append=door_section() + '\n[staff]\nwordpress_roles = { editor = "editor", '
                   'administrator = "publisher" }\n',
                   replace={'[staff]                               # the marketing workspace at '
                            '/staff/ (see the README)\nmembers = [{ email = "marketing@example.org",'
                            ' role = "publisher" }]\n': ""})
    with serve(app) as base:
        refused = requests.post(base + "/staff/wordpress", timeout=10, data={
            "assertion": sign(claims_for(base, email="member@example.org"))})
        assert refused.status_code == 403
        browser = requests.Session()
        admitted = browser.post(base + "/staff/wordpress", timeout=10, data={
            "assertion": sign(claims_for(base, email="Editor@Example.org", roles=("administrator",)))})
        assert admitted.url == base + "/staff/draft"
        assert "editor@example.org" in admitted.text
        assert browser.get(base + "/profile/", allow_redirects=False).status_code == 302
        actions = browser.get(base + "/staff/actions").text
        assert "sign in: wordpress, publisher" in actions


def test_staff_link_tokens_are_cut_short_in_logs():
    assert redact('"GET /staff/link/AbCdEfGhIjKlMnOp HTTP/1.1" 200') == \
        '"GET /staff/link/AbCd… HTTP/1.1" 200'
