"""The rights' pages: "My history", "My data", "Forget me", and the pages
behind the links an address change and a receipt send."""

from __future__ import annotations

import json
from collections.abc import Callable

from flask import Blueprint, abort, current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal.auth.links import LinkState as SignInLinkState
from portal.auth.session import FULL, SignedIn, login_required, sign_out, signed_in
from portal.auth.throttle import Budget
from portal.auth.views import ConfirmForm, link_problem
from portal.config import current
from portal.db.keys import Keys
from portal.i18n import current_language
from portal.rights.address import Result, Used, confirm_address, report_not_me, undo_address_change
from portal.rights.erasure import forget
from portal.rights.export import LEGAL_BASES, as_json, gather
from portal.rights.history import history
from portal.rights.notify import organisation_address
from portal.rights.records import rights_records
from portal.rights.records.email_requests import say_wordpress_keeps_its_address
from portal.rights.records.history import door_label
from portal.rights.records.links import CONFIRM_EMAIL, NOT_ME, NOT_ME_EMAIL, LinkState
from portal.rights.state import rights_state

bp = Blueprint("rights", __name__, url_prefix="/rights")
# Doors that proved the contact holds the mailbox: only they reach their data or erase it.
PROVEN_DOORS = frozenset({"link", "wordpress"})
ERASED = "erasure_outcome"  # what the page after an erasure tells, kept in the new session


def _who() -> SignedIn:
    who = signed_in()
    assert who is not None  # login_required
    return who


def _proven(who: SignedIn) -> bool:
    return who.via in PROVEN_DOORS


@bp.get("/history")
@login_required
def history_page() -> str:
    who = _who()
    return render_template("rights/history.html", entries=history(
        who.contact.ref, current_language(), personal=who.scope == FULL),
        days=current().rights.history_days)


@bp.get("/my-data")
@login_required
def my_data() -> str | tuple[str, int]:
    refused = _refuse_download()
    if refused:
        return refused
    who = _who()
    return render_template("rights/my_data.html", data=gather(who, current_language()),
                           organisation=organisation_address(current()), bases=LEGAL_BASES,
                           door_label=door_label)


@bp.get("/my-data.json")
@login_required
def my_data_json() -> Response | tuple[str, int]:
    refused = _refuse_download()
    if refused:
        return refused
    language = current_language()
    data = gather(_who(), language)
    body = json.dumps(as_json(data, language), ensure_ascii=False, indent=2)
    name = f"my-data-{data.generated_at.date().isoformat()}.json"
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _refuse_download() -> tuple[str, int] | None:
    """The page that says why not: a newsletter link, or too many downloads."""
    who = _who()
    if not _proven(who):
        return render_template("rights/needs_link.html"), 403
    per_hour = current().rights.data_downloads_per_hour
    key = Keys(current_app.config["SECRET_KEY"]).fingerprint("my data", who.contact.ref)
    if not rights_state().counters.spend([Budget("my-data", key, per_hour)]):
        return render_template("rights/too_many.html", per_hour=per_hour), 429
    return None


@bp.get("/forget")
@login_required
def forget_start() -> str | tuple[str, int]:
    if not _proven(_who()):
        return render_template("rights/needs_link.html"), 403
    return render_template("rights/forget.html", organisation=organisation_address(current()))


@bp.get("/forget/confirm")
@login_required
def forget_confirm() -> str | tuple[str, int]:
    if not _proven(_who()):
        return render_template("rights/needs_link.html"), 403
    return render_template("rights/forget_confirm.html", form=ConfirmForm())


@bp.post("/forget/confirm")
@login_required
def forget_now() -> Response | tuple[str, int]:
    who = _who()
    if not _proven(who):
        return render_template("rights/needs_link.html"), 403
    if not ConfirmForm().validate_on_submit():
        abort(400)
    done = forget(who, current_language())
    sign_out()
    session[ERASED] = {"crm": done.crm, "reason": done.reason}
    return redirect(url_for("rights.forgotten"))


@bp.get("/forgotten")
def forgotten() -> str | Response:
    done = session.get(ERASED)
    if not done:
        return redirect(url_for("auth.start"))
    return render_template("rights/forgotten.html", crm=done["crm"], reason=done["reason"],
                           organisation=organisation_address(current()))


# --- the emailed links ------------------------------------------------------------

# The path's word -> the link's purpose and what pressing its button does.
LINKS: dict[str, tuple[str, Callable[[str], Used]]] = {
    "confirm": (CONFIRM_EMAIL, confirm_address),  # from the new address
    "undo": (NOT_ME_EMAIL, undo_address_change),  # "this was not me", from the old address
    "not-me": (NOT_ME, report_not_me),  # "this was not me", from a receipt
}
KIND = '<any(confirm, undo, "not-me"):kind>'


@bp.get(f"/{KIND}/<token>")
def link_page(kind: str, token: str) -> str | tuple[str, int]:
    """Mail scanners open every link: a GET only shows the button."""
    purpose, _use = LINKS[kind]
    checked = rights_records().links.check(purpose, token)
    if checked.state is not LinkState.VALID:
        return link_problem(SignInLinkState(checked.state.value))
    return render_template("rights/link.html", kind=kind, form=ConfirmForm())


@bp.post(f"/{KIND}/<token>")
def use_link(kind: str, token: str) -> str | Response | tuple[str, int]:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    _purpose, use = LINKS[kind]
    used = use(token)
    if used.result is Result.LINK:
        return link_problem(SignInLinkState(used.state.value))
    if used.result is Result.UNAVAILABLE:
        return render_template("errors/crm_unavailable.html"), 503
    if used.result is Result.CHANGED:  # this browser is signed in with the new address
        flash(_("Your email address is now %(address)s.", address=used.address), "success")
        if used.door == "wordpress":
            say_wordpress_keeps_its_address()
        return redirect(url_for("profile.show"))
    status = 409 if used.result in (Result.TAKEN, Result.NOT_RESTORED, Result.REFUSED) else 200
    return render_template("rights/link_result.html", result=used.result.value, used=used,
                           organisation=organisation_address(current())), status
