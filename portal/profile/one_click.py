"""One-click unsubscribe (RFC 8058): `/u/<token>` leaves what "unsubscribe
from all" leaves, `/u/<token>/<item>` one item (or all, as `[portal.unsubscribe]
one_click` says). The token is the contact's newsletter token.

A mail client that offers "unsubscribe" from the `List-Unsubscribe` and
`List-Unsubscribe-Post` headers POSTs `List-Unsubscribe=One-Click` here with
no cookie and no CSRF token, and wants a plain 200. Mail scanners open every
link, so a GET only shows a confirm page whose button POSTs to the same
address. An unknown or revoked token gets the same answer as a good one,
and changes nothing; no answer sets a cookie; requests are limited per
client address so that tokens cannot be guessed at speed."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, make_response, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _

from portal.auth.doors import doors
from portal.auth.newsletter_field import newsletter_contact
from portal.config import Config, ItemSpec, current
from portal.crm.base import Change, Contact, CrmError, Profile
from portal.delivery.reader import contact_languages, read_profile
from portal.delivery.writer import Outcome
from portal.hosting.security import csrf
from portal.profile.changes import leave_change, reached_by_unsubscribe_all, unsubscribe_all_change
from portal.rights.records import submit_recorded
from portal.rights.records.history import UNSUBSCRIBED_ALL

log = logging.getLogger(__name__)
bp = Blueprint("one_click", __name__)
DOOR = "one-click"
ONE_CLICK_BODY = ("List-Unsubscribe", "One-Click")  # RFC 8058's POST body, as a form field
RETRY_AFTER = "120"  # seconds a mail client waits before it asks again


@bp.get("/u/<token>")
@bp.get("/u/<token>/<item>")
def confirm(token: str, item: str | None = None) -> Response:
    spec = _item_named(item)
    if not _allowed():
        return _too_many()
    language = _chosen_language() or _language_of(token)
    with force_locale(language):
        page = render_template("profile/one_click.html", item=spec, language=language,
                               leaves_all=_leaves_all(spec))
    return make_response(page)


@bp.post("/u/<token>")
@bp.post("/u/<token>/<item>")
def unsubscribe(token: str, item: str | None = None) -> Response:
    spec = _item_named(item)
    if not _allowed():
        return _too_many()
    try:
        contact = newsletter_contact(token)
    except CrmError as exc:
        # Without the CRM the token cannot be checked nor its contact found:
        # nothing is written, and 503 with Retry-After makes a mail client ask
        # again later, so the request is not lost.
        log.warning("CRM look-up failed for a one-click unsubscribe: %s", exc)
        return _unavailable()
    language = _chosen_language()
    if contact is not None:
        profile = _profile_of(contact, spec)
        language = language or _contact_language(profile)
        # 200 only once the writer has the change: in the CRM or in the queue.
        if not _leave(contact, profile, spec, language):
            return _unavailable()
    return _done(token, spec, language or current().portal.default_language)


# RFC 8058: the mail client sends no cookie and no CSRF token; the token in the address is the key.
csrf.exempt(unsubscribe)


# --- helpers ---------------------------------------------------------------------


def _item_named(key: str | None) -> ItemSpec | None:
    if key is None:
        return None
    spec = next((item for item in current().items() if item.key == key), None)
    if spec is None:
        abort(404)
    return spec


def _leaves_all(spec: ItemSpec | None) -> bool:
    return spec is None or current().portal.unsubscribe.one_click == "all"


def _allowed() -> bool:
    per_hour = current().portal.unsubscribe.one_click_per_address_per_hour
    return doors().throttle.allow_address(DOOR, request.remote_addr or "unknown", per_hour)


def _chosen_language() -> str | None:
    """The language the page's visitor chose (`?lang=` or the confirm form's),
    read here so that no session is written: these answers set no cookie."""
    asked = request.values.get("lang", "")
    return asked if asked in current().portal.languages else None


def _language_of(token: str) -> str:
    """The contact's language for the confirm page, when the CRM says it;
    else the browser's."""
    try:
        contact = newsletter_contact(token)
        if contact is not None:
            return _contact_language(read_profile(contact))
    except CrmError as exc:
        log.info("The confirm page of a one-click link could not read the CRM: %s", exc)
    config = current()
    return request.accept_languages.best_match(config.portal.languages) or \
        config.portal.default_language


def _contact_language(profile: Profile) -> str:
    config = current()
    chosen = contact_languages(config, profile)
    return chosen[0] if chosen else config.portal.default_language


def _profile_of(contact: Contact, spec: ItemSpec | None) -> Profile:
    """The contact's profile; if it cannot be read now, as far as we know it:
    in every item the request would leave (leaving is idempotent)."""
    try:
        return read_profile(contact)
    except CrmError as exc:
        log.warning("Profile read for a one-click unsubscribe failed: %s", exc)
        config = current()
        items = reached_by_unsubscribe_all(config) if _leaves_all(spec) else [spec]
        return Profile(contact, subscribed=frozenset(i.item for i in items if i is not None))


def _leave(contact: Contact, profile: Profile, spec: ItemSpec | None, language: str) -> bool:
    """Submit the change the link asks for with its records; whether the
    writer took it (or there was nothing to change)."""
    config = current()
    change = _change(config, contact, profile, spec)
    if not change.leave and not (change.unsubscribe_all and not profile.opted_out_all):
        return True  # already out: nothing to write, nothing to record
    event = UNSUBSCRIBED_ALL if _leaves_all(spec) else ""
    result = submit_recorded(contact, profile, change, door=DOOR, language=language, event=event)
    if result.outcome is Outcome.REFUSED:
        # Asking again would not help: the operator's log says why.
        log.error("The CRM refused a one-click unsubscribe: %s", result.error)
        return True
    return result.outcome in (Outcome.APPLIED, Outcome.QUEUED)


def _change(config: Config, contact: Contact, profile: Profile,
            spec: ItemSpec | None) -> Change:
    if spec is None or _leaves_all(spec):
        return unsubscribe_all_change(config, contact, profile)
    return leave_change(config, contact, profile, [spec])


def _done(token: str, spec: ItemSpec | None, language: str) -> Response:
    """The same answer whether the token was good or not: plain for a mail
    client, a page for a person."""
    if request.form.get(ONE_CLICK_BODY[0]) == ONE_CLICK_BODY[1]:
        return Response("Unsubscribed.\n", 200, mimetype="text/plain")
    with force_locale(language):
        page = render_template("profile/one_click_done.html", item=spec, token=token,
                               leaves_all=_leaves_all(spec), language=language)
    return make_response(page)


def _unavailable() -> Response:
    with force_locale(_chosen_language() or current().portal.default_language):
        response = make_response(render_template("errors/crm_unavailable.html"), 503)
    response.headers["Retry-After"] = RETRY_AFTER
    return response


def _too_many() -> Response:
    with force_locale(_chosen_language() or current().portal.default_language):
        page = render_template(
            "errors/error.html", title=_("Please wait a while"),
            message=_("Many unsubscribe requests came from your network in a short time. "
                      "Please try again later."))
    response = make_response(page, 429)
    response.headers["Retry-After"] = "3600"
    return response
