"""Finding 3: a newsletter link travels in forwarded mail, so it reaches
subscriptions only: no personal data, not even read-only, and one press
emails the contact a link for the rest."""

from __future__ import annotations

import subprocess
import sys

from portal.shipped import SOURCE_TREE
from tests.security.conftest import csrf_of
from tests.support.smtp import link_in

PUBLIC = "https://www.example.org/preferencias"
# demo@example.org's personal data in the demo CRM, and its address.
PERSONAL = ("Etxeberria", "600 000 000", "1990", "0042", "demo@example.org")


def newsletter_link(portal, email: str = "demo@example.org") -> str:
    env = {"PORTAL_CONFIG": str(portal.instance.parent / "portal.toml"),
           "PORTAL_INSTANCE": str(portal.instance)}
    done = subprocess.run([sys.executable, "-m", "portal", "tokens", "issue", email],
                          cwd=SOURCE_TREE, env={**_environment(), **env}, capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout.split(f"{email}: ", 1)[1].split()[0]


def _environment() -> dict[str, str]:
    import os

    from tests.support.config import STRONG_KEY

    return {**os.environ, "PORTAL_SECRET_KEY": STRONG_KEY}


def test_a_forwarded_newsletter_link_shows_no_personal_data(serve, smtp):
    portal = serve(PUBLIC)
    link = newsletter_link(portal)
    assert link.startswith(PUBLIC + "/n/")
    reader = portal.session()  # whoever the newsletter was forwarded to
    path = link.removeprefix(PUBLIC)
    page = reader.get(portal.url + path)
    reader.post(portal.url + path, data={"csrf_token": csrf_of(page.text)})
    profile = reader.get(portal.url + "/profile/")
    assert profile.status_code == 200 and 'name="sub_weekly"' in profile.text
    for personal in PERSONAL:
        assert personal not in profile.text
    # One press sends the contact (not the reader) a link that reaches the rest.
    sent = reader.post(portal.url + "/profile/personal-details-link",
                       data={"csrf_token": csrf_of(profile.text)}, allow_redirects=False)
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/preferencias/profile/")
    message = smtp.wait_for("demo@example.org")[-1]
    assert link_in(message).startswith(PUBLIC + "/link/")


def test_a_newsletter_token_carries_no_readable_address(serve):
    import base64
    import binascii

    portal = serve(PUBLIC)
    token = newsletter_link(portal).rsplit("/", 1)[1]
    for part in token.split("."):
        padded = part + "=" * (-len(part) % 4)
        try:
            decoded = base64.urlsafe_b64decode(padded)
        except (binascii.Error, ValueError):
            continue
        assert b"demo@example.org" not in decoded and b"example" not in decoded


def test_clearing_the_token_in_the_crm_ends_a_newsletter_session(make_app, smtp):
    from portal.crm.base import Change, FieldRef, FieldUpdate
    from portal.delivery import delivery
    from tests.conftest import csrf_token

    # Profiles are read from the CRM at every view here (no cache to wait out).
    app = make_app(append="[resilience]\nprofile_cache_seconds = 0\n")
    runner = app.test_cli_runner()
    link = runner.invoke(args=["tokens", "issue", "demo@example.org"]).output
    path = "/n/" + link.split("/n/", 1)[1].split()[0]
    reader = app.test_client()
    reader.post(path, data={"csrf_token": csrf_token(reader.get(path).data)})
    assert reader.get("/profile/").status_code == 200
    crm = delivery(app).crm
    contact = crm.find_contact("demo@example.org")
    crm.apply(Change(contact.ref, contact.email, fields=(FieldUpdate(FieldRef("portal_token"), None),)))
    ended = reader.get("/profile/?lang=en")
    assert ended.status_code == 302
    start = reader.get(ended.headers["Location"]).get_data(as_text=True)
    assert "no longer works" in start
    assert reader.get("/profile/").status_code == 302  # and it stays ended
