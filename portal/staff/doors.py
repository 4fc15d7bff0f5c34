"""How staff come in: an emailed link to an address in `[staff] members`
(the contacts' link rules: opaque, single use, a button to confirm, the same
request limits), or the WordPress plugin's assertion for a member whose
WordPress role `[staff] wordpress_roles` names. Each opens a staff session,
never a contact's."""

from __future__ import annotations

import logging

from flask import Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal.auth.doors import doors
from portal.auth.links import LinkState
from portal.auth.wordpress_assertion import Refused, audience, verify
from portal.config import Config, current
from portal.hosting.security import csrf
from portal.hosting.urls import external_url
from portal.i18n import current_language
from portal.mail import MailError, mailer
from portal.staff.blueprint import bp
from portal.staff.forms import StaffEmailForm, TokenForm
from portal.staff.sessions import COOKIE, StaffMember, forget_cookie, set_cookie, staff_member
from portal.staff.workspace import workspace

log = logging.getLogger(__name__)


@bp.get("/")
def start() -> str | Response:
    if staff_member() is not None:
        return redirect(url_for("staff.draft"))
    return render_template("staff/start.html", form=StaffEmailForm())


@bp.post("/sign-in")
def request_link() -> str | Response | tuple[str, int]:
    form = StaffEmailForm()
    if not form.validate_on_submit():
        return render_template("staff/start.html", form=form), 400
    email = (form.email.data or "").strip()
    if not doors().throttle.allow(email, request.remote_addr or "unknown"):
        return render_template("staff/start.html", form=form, throttled=True), 429
    # A link is made for every address, so the answer cannot tell who is staff.
    token = workspace().links.issue(email)
    if current().staff.role_of(email) is not None:
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        doors().background.submit(_send_link, app, current(), email,
                                  external_url("staff.use_link", token=token), current_language())
    return redirect(url_for("staff.link_sent"))


def _send_link(app: Flask, config: Config, email: str, link: str, language: str) -> None:
    minutes = config.portal.link_lifetime_minutes
    with app.test_request_context(), force_locale(language):
        site = config.portal.name
        sender = mailer()
        message = sender.message(
            to=email, subject=_("Your link to the %(site)s workspace", site=site),
            text=render_template("staff/email.txt", link=link, minutes=minutes, site=site),
            language=language)
    try:
        sender.send(message)
    except MailError as exc:
        log.error("Workspace sign-in link not sent: %s", exc)


@bp.get("/sign-in/sent")
def link_sent() -> str:
    return render_template("staff/sent.html", minutes=current().portal.link_lifetime_minutes)


@bp.get("/link/<token>")
def use_link(token: str) -> str | tuple[str, int]:
    # Mail scanners open every link: a GET only shows the button.
    state = workspace().links.check(token).state
    if state is not LinkState.VALID:
        return _link_problem(state)
    return render_template("staff/confirm.html", form=TokenForm(),
                           action=url_for("staff.use_link_now", token=token))


@bp.post("/link/<token>")
def use_link_now(token: str) -> Response | tuple[str, int]:
    if not TokenForm().validate_on_submit():
        abort(400)
    checked = workspace().links.use(token)
    if checked.state is not LinkState.VALID:
        return _link_problem(checked.state)
    role = current().staff.role_of(checked.email)
    if role is None:  # taken off the staff list since the link was sent
        return _link_problem(LinkState.INVALID)
    return _signed_in(StaffMember(checked.email.strip().lower(), role, "link"))


def _link_problem(state: LinkState) -> tuple[str, int]:
    status = 410 if state in (LinkState.EXPIRED, LinkState.USED) else 400
    return render_template("staff/start.html", form=StaffEmailForm(formdata=None),
                           link_state=state.value), status


def _signed_in(member: StaffMember) -> Response:
    space = workspace()
    response = redirect(url_for("staff.draft"))
    old = request.cookies.get(COOKIE)
    if old:
        space.sessions.end(old)  # a fresh session on every sign-in
    set_cookie(response, space.sessions.start(member))
    space.store.record(member.email, "sign in", f"{member.door}, {member.role}")
    return response


@bp.post("/sign-out")
def sign_out() -> Response:
    if not TokenForm().validate_on_submit():
        abort(400)
    member = staff_member()
    cookie = request.cookies.get(COOKIE)
    if cookie:
        workspace().sessions.end(cookie)
    if member is not None:
        workspace().store.record(member.email, "sign out")
    flash(_("You have signed out of the workspace."), "info")
    response = redirect(url_for("staff.start"))
    forget_cookie(response)
    return response


@bp.post("/wordpress")
@csrf.exempt
def wordpress_enter() -> Response | tuple[str, int]:
    """The plugin's assertion, for a member whose WordPress role gives a workspace role."""
    wordpress = current().wordpress
    settings = wordpress.assertion if wordpress is not None else None
    if settings is None:
        abort(404)
    try:
        claims = verify(request.form.get("assertion", ""), settings,
                        current_app.extensions["portal_wordpress_assertion"].used, audience())
    except Refused as refused:
        log.info("WordPress assertion refused at the workspace: %s", refused.reason)
        return render_template("staff/start.html", form=StaffEmailForm(formdata=None),
                               wordpress_refused=True), 400 if refused.reason != "no_secret" else 503
    roles = claims.get("roles")
    email = claims.get("email")
    role = current().staff.role_for_wordpress([str(r) for r in roles]) \
        if isinstance(roles, list) else None
    if role is None or not isinstance(email, str) or "@" not in email:
        log.info("WordPress member without a workspace role refused")
        return render_template("staff/start.html", form=StaffEmailForm(formdata=None),
                               wordpress_refused=True), 403
    return _signed_in(StaffMember(email.strip().lower(), role, "wordpress"))
