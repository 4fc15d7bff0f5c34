"""What a request for a sign-in link sends, after the answer: the sign-in
link to a contact the portal is for; to a contact it is not for, a letter
saying so (with how to join, where marketing says); to an unknown address,
a link to register where registering is open; else nothing. The page
answered the same before any of this was decided."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage

from flask import Flask, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from portal.config import Config
from portal.crm.base import CrmAdapter, CrmError
from portal.delivery.audience import is_member
from portal.i18n import text_for
from portal.mail import Mailer, MailError

log = logging.getLogger(__name__)
# The letters' templates (emails/NAME.txt and .html), as the operator's log names them.
LETTERS = {"sign_in": "Sign-in link", "members_only": "Members-only letter",
           "register": "Register link"}


@dataclass(frozen=True)
class LinkLetter:
    """The links made for one request, to send after the answer as the CRM says."""

    config: Config
    crm: CrmAdapter
    mailer: Mailer
    email: str
    link: str  # the sign-in link
    register_link: str  # "" unless registering is open
    language: str


def send_what_fits(app: Flask, letter: LinkLetter) -> None:
    """Send `letter.email` the one letter that fits it, or none."""
    with app.app_context():
        try:
            contact = letter.crm.find_contact(letter.email)
            member = contact is not None and is_member(letter.crm, contact, letter.config)
        except CrmError as exc:
            log.warning("Could not look up a sign-in request in the CRM: %s", exc)
            return
        if member:
            template, subject, link = "sign_in", _l_sign_in, letter.link
        elif contact is not None and letter.config.portal.audience.tell_others:
            template, subject, link = "members_only", _l_members_only, ""
        elif contact is None and letter.register_link:
            template, subject, link = "register", _l_register, letter.register_link
        else:
            return
        with app.test_request_context(), force_locale(letter.language):
            msg = _letter(letter, template, subject(letter.config.portal.name), link)
        try:
            letter.mailer.send(msg)
        except MailError as exc:
            log.error("%s not sent: %s", LETTERS[template], exc)


def _l_sign_in(site: str) -> str:
    return str(_("Your link to %(site)s", site=site))


def _l_members_only(site: str) -> str:
    return str(_("%(site)s is for members", site=site))


def _l_register(site: str) -> str:
    return str(_("Sign up to %(site)s", site=site))


def _letter(letter: LinkLetter, template: str, subject: str, link: str) -> EmailMessage:
    config, language = letter.config, letter.language
    values = {"link": link, "minutes": config.portal.link_lifetime_minutes,
              "site": config.portal.name, "language": language,
              "join_url": text_for(config.portal.audience.join_url, language)}
    return letter.mailer.message(
        to=letter.email, subject=subject,
        text=render_template(f"emails/{template}.txt", **values),
        html=render_template(f"emails/{template}.html", **values),
        language=language)
