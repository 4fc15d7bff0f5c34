"""Tokens in links say nothing: neither the sign-in link nor the newsletter
link carries the email address or the contact's CRM reference, however it
is decoded."""

from __future__ import annotations

import base64
import binascii
import zlib
from urllib.parse import unquote

from itsdangerous import URLSafeSerializer

from portal.auth.doors import doors
from portal.auth.newsletter import NewsletterTokens
from portal.crm.base import Change, FieldRef, FieldUpdate
from portal.crm.local import LocalCrm
from portal.delivery import delivery
from tests.conftest import csrf_token, request_link
from tests.support.smtp import link_in

EMAIL = "demo@example.org"


def decodings(token: str) -> list[bytes]:
    """The token as text and every way it may hide readable bytes: base64
    (URL-safe or not, whole or per dot-separated piece), hex, and zlib."""
    text = unquote(token)
    pieces = [text, *text.split("."), *text.split("-"), *text.split("_")]
    found = [text.encode()]
    for piece in filter(None, pieces):
        for decode in (base64.urlsafe_b64decode, base64.b64decode, bytes.fromhex,
                       base64.b32decode):
            try:
                raw = decode(piece + "=" * (-len(piece) % 4)) if decode is not bytes.fromhex \
                    else decode(piece)
            except (binascii.Error, ValueError):
                continue
            found.append(raw)
            try:
                found.append(zlib.decompress(raw))
            except zlib.error:
                pass
    return found


def assert_says_nothing(token: str, contact_ref: str) -> None:
    for raw in decodings(token):
        lowered = raw.lower()
        assert EMAIL.encode() not in lowered and b"demo%40example.org" not in lowered
        assert contact_ref.encode() not in lowered


def demo_ref(app) -> str:
    crm = delivery(app).crm
    assert isinstance(crm, LocalCrm)
    return crm.find_contact(EMAIL).ref


def test_the_sign_in_token_carries_no_email(db_app, smtp):
    request_link(db_app.test_client(), EMAIL)
    token = link_in(smtp.wait_for(EMAIL)[0]).rsplit("/", 1)[1]
    assert_says_nothing(token, demo_ref(db_app))


def test_the_newsletter_token_carries_neither_email_nor_contact_ref(db_app):
    result = db_app.test_cli_runner().invoke(args=["tokens", "issue", EMAIL])
    assert result.exit_code == 0, result.output
    token = result.output.split("/n/", 1)[1].split()[0]
    assert_says_nothing(token, demo_ref(db_app))


def write_token(app, token: str) -> None:
    crm = delivery(app).crm
    contact = crm.find_contact(EMAIL)
    crm.apply(Change(contact.ref, contact.email, fields=(FieldUpdate(FieldRef("portal_token"), token),)))


def press(client, token: str) -> int:
    page = client.get(f"/n/{token}")
    if page.status_code != 200:
        return page.status_code
    client.post(f"/n/{token}", data={"csrf_token": csrf_token(page.data)})
    return client.get("/profile/").status_code


def test_a_newsletter_link_already_sent_in_the_earlier_format_still_works(app):
    # Made as the portal made them before: the signed reference and email.
    legacy = URLSafeSerializer(app.config["SECRET_KEY"], salt="portal.newsletter-link").dumps(
        {"r": demo_ref(app), "e": EMAIL, "k": "abcdefgh"})
    write_token(app, legacy)
    assert press(app.test_client(), legacy) == 200
    forged = URLSafeSerializer("another key of 32 characters or more", salt="portal.newsletter-link"
                               ).dumps({"r": demo_ref(app), "e": EMAIL, "k": "abcdefgh"})
    write_token(app, forged)
    assert press(app.test_client(), forged) == 400


def test_a_newsletter_token_cannot_be_altered_or_made_elsewhere(app):
    token = doors(app).newsletter.make(demo_ref(app))
    write_token(app, token)
    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elsewhere = NewsletterTokens("another key of 32 characters or more").make(demo_ref(app))
    for bad in (altered, elsewhere, "x", ""):
        assert doors(app).newsletter.read(bad) is None
    assert press(app.test_client(), altered) == 400
    assert press(app.test_client(), token) == 200
