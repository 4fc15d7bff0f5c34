"""The draft as a contact would see it: the contacts' own page, rendered by
their own code with the draft's layout, in any language, at a phone's or a
desktop's width, filled with a test contact from the CRM (read only) or
made-up values. Sending its form checks what was typed and writes nothing."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import abort, make_response, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal.auth.session import FULL, SignedIn
from portal.config import Config, FieldSpec
from portal.crm.base import Contact, CrmError, Profile, Value
from portal.delivery import delivery
from portal.delivery.reader import read_profile
from portal.hosting.security import content_security_policy
from portal.profile.views import _form, _page
from portal.staff import PREVIEW
from portal.staff.blueprint import bp
from portal.staff.checks import check_draft
from portal.staff.forms import SampleForm
from portal.staff.sessions import staff_member, staff_required
from portal.staff.workspace import draft_of, workspace

log = logging.getLogger(__name__)
WIDTHS = {"phone": 390, "desktop": 1280}
SAMPLE_EMAIL = "ane@example.org"
MADE_UP: dict[str, Value] = {"email": SAMPLE_EMAIL, "tel": "+34 600 000 000", "date": "1990-05-31",
                             "checkbox": True, "country": "ES"}


def _language(config: Config) -> str:
    chosen = request.args.get("in_language", "")
    return chosen if chosen in config.portal.languages else config.portal.default_language


@bp.get("/preview")
@staff_required
def preview() -> str:
    config = workspace().file_config
    width = request.args.get("width", "phone")
    if width not in WIDTHS:
        width = "phone"
    member = staff_member()
    assert member is not None
    workspace().store.record(member.email, "preview", f"{_language(config)}, {width}")
    return render_template("staff/preview.html", language=_language(config), width=width,
                           widths=WIDTHS, preview_languages=config.portal.languages,
                           sample_form=SampleForm(request.args),
                           sample=request.args.get("sample", "").strip())


@bp.route("/preview/page", methods=["GET", "POST"])
@staff_required
def preview_page() -> Response:
    member = staff_member()
    assert member is not None
    base = workspace().file_config
    draft_config = check_draft(draft_of(member).document, base, with_crm=False).config
    serving = PREVIEW.set(draft_config)  # current() serves the draft while this page renders
    try:
        html, refused = _render(draft_config, _language(base))
    finally:
        PREVIEW.reset(serving)
    response = make_response(html, 400 if refused else 200)
    # Only the workspace's own pages may frame the preview.
    policy = re.sub(r"frame-ancestors [^;]+", "frame-ancestors 'self'", content_security_policy(base))
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def _render(config: Config, language: str) -> tuple[str, bool]:
    """The contacts' page for the draft, and whether a sent form was refused."""
    with force_locale(language):
        profile, notice = _sample(config, request.args.get("sample", "").strip())
        who = SignedIn(profile.contact, FULL, via="preview")
        if request.method == "POST":
            form = _form(who, profile)
            if form.validate_on_submit():
                notice = _("This is a preview: the form is correct, and nothing was saved.")
            elif form.csrf_token.errors:
                abort(400)
        else:
            form = _form(who, profile, stored=True)
        html = render_template("profile/show.html", preview_notice=notice,
                               preview_action=request.full_path, **_page(who, profile, form))
    return html, request.method == "POST" and bool(form.errors)


def _sample(config: Config, email: str) -> tuple[Profile, str]:
    """A test contact's profile from the CRM, or made-up values; and what to say about it."""
    if email:
        try:
            contact = delivery().crm.find_contact(email)
            if contact is not None:
                return read_profile(contact), ""
            notice = _("No contact in the CRM has that email: made-up values are shown.")
        except CrmError as exc:
            log.info("The CRM could not give a test contact for a preview: %s", exc)
            notice = _("The CRM could not be asked for that contact: made-up values are shown.")
    else:
        notice = ""
    values = {spec.crm_field: _made_up(spec) for spec in config.fields}
    subscribed = frozenset(group.items[0].item for group in config.groups if group.items)
    return Profile(Contact("preview", SAMPLE_EMAIL, name="Ane"), values, subscribed), notice


def _made_up(spec: FieldSpec) -> Any:
    if spec.type in MADE_UP:
        return MADE_UP[spec.type]
    if spec.choices:
        first = spec.choices[0].value
        return [first] if spec.type == "multiselect" else first
    if spec.type in ("text",):
        return _("Sample text")
    return None
