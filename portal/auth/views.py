"""Sign-in pages: ask for a link, use a link, newsletter links, sign out."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField
from wtforms.validators import DataRequired, Email, Length

from portal.auth.doors import doors
from portal.auth.letters import LinkLetter, send_what_fits
from portal.auth.links import LinkState
from portal.auth.newsletter_field import newsletter_contact, remember_token
from portal.auth.session import FULL, SUBSCRIPTIONS, sign_in, sign_out, signed_in
from portal.config import current
from portal.crm.base import CrmError
from portal.delivery import delivery
from portal.hosting.urls import external_url
from portal.i18n import current_language
from portal.mail import mailer

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


class LinkRequestForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[
            DataRequired(message=_l("Please type your email address.")),
            Length(max=254, message=_l("This email address is too long.")),
            Email(message=_l("This does not look like an email address. Check it, please.")),
        ],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the button that turns a GET into a POST."""


@bp.get("/")
def start() -> str | Response:
    if signed_in():
        return redirect(url_for("profile.show"))
    expired = session.pop("expired", False)
    return render_template("auth/start.html", form=LinkRequestForm(data={"email": known_email()}),
                           expired=expired)


def known_email() -> str:
    """The address this browser last asked a link for or signed in with:
    what a "send me a new link" form starts with. Signing out forgets it."""
    who = signed_in()
    return who.contact.email if who else str(session.get("link_sent_to", ""))


@bp.post("/sign-in")
def request_link() -> str | Response | tuple[str, int]:
    form = LinkRequestForm()
    if not form.validate_on_submit():
        return render_template("auth/start.html", form=form), 400
    email = (form.email.data or "").strip()
    if not email_sign_in_link(email):
        return render_template("auth/start.html", form=form, throttled=True), 429
    session["link_sent_to"] = email
    return redirect(url_for("auth.link_sent"))


def email_sign_in_link(email: str) -> bool:
    """Send `email` what fits it (portal.auth.letters); False when the request
    limits refuse it. The answer must not tell whether the email is known, nor
    whether it is a member's: the same links are made for every address, and
    the CRM look-up and the sending happen after the answer."""
    shared = doors()
    if not shared.throttle.allow(email, request.remote_addr or "unknown"):
        return False
    config = current()
    link = external_url("auth.use_link", token=shared.links.issue(email))
    register_link = external_url("register.page", token=shared.register.issue(email)) \
        if config.register.enabled else ""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's target
    shared.background.submit(send_what_fits, app, LinkLetter(
        config, delivery().crm, mailer(), email, link, register_link, current_language()))
    return True


@bp.get("/sign-in/sent")
def link_sent() -> str:
    return render_template("auth/sent.html", email=session.get("link_sent_to", ""),
                           minutes=current().portal.link_lifetime_minutes)


@bp.get("/link/<token>")
def use_link(token: str) -> str | tuple[str, int]:
    # Mail scanners open every link: a GET only shows the button.
    checked = doors().links.check(token)
    if checked.state is not LinkState.VALID:
        return link_problem(checked.state)
    return render_template("auth/confirm.html", form=ConfirmForm(),
                           action=url_for("auth.use_link_now", token=token))


@bp.post("/link/<token>")
def use_link_now(token: str) -> Response | tuple[str, int]:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    checked = doors().links.use(token)
    if checked.state is not LinkState.VALID:
        return link_problem(checked.state)
    try:
        contact = delivery().crm.find_contact(checked.email)
    except CrmError as exc:
        log.warning("CRM look-up failed while signing in: %s", exc)
        return render_template("errors/crm_unavailable.html"), 503
    if contact is None:
        return link_problem(LinkState.INVALID)
    sign_in(contact, FULL, via="link")
    return redirect(url_for("profile.show"))


def link_problem(state: LinkState) -> tuple[str, int]:
    status = 410 if state in (LinkState.EXPIRED, LinkState.USED) else 400
    return render_template("auth/link_problem.html", state=state.value,
                           form=LinkRequestForm(formdata=None, data={"email": known_email()})), status


@bp.get("/n/<token>")
def newsletter_link(token: str) -> str | tuple[str, int]:
    if doors().newsletter.read(token) is None:
        return link_problem(LinkState.INVALID)
    return render_template("auth/confirm.html", form=ConfirmForm(),
                           action=url_for("auth.newsletter_link_now", token=token))


@bp.post("/n/<token>")
def newsletter_link_now(token: str) -> Response | tuple[str, int]:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        contact = newsletter_contact(token)
    except CrmError as exc:
        log.warning("CRM look-up failed for a newsletter link: %s", exc)
        return render_template("errors/crm_unavailable.html"), 503
    if contact is None:
        return link_problem(LinkState.INVALID)
    scope = FULL if current().portal.newsletter_may_edit_personal_data else SUBSCRIPTIONS
    sign_in(contact, scope, via="newsletter")
    remember_token(token)
    return redirect(url_for("profile.show"))


@bp.post("/sign-out")
def sign_out_now() -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    sign_out()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.start"))
