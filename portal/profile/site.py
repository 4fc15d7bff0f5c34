"""What every page shares beyond the layout: the portal's own error pages,
the favicon, the footer, the language switcher's addresses and the form
fields' markup."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Blueprint, current_app, render_template, request, send_from_directory, url_for
from flask.globals import request_ctx
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from portal.config import Config, current
from portal.config.memo import PerConfig
from portal.fields.markup import control, field_block, item_block
from portal.i18n import current_language, text_for

log = logging.getLogger(__name__)
bp = Blueprint("site", __name__)
ICON_MAX_AGE = 7 * 24 * 3600
bp.add_app_template_global(field_block)
bp.add_app_template_global(control)
bp.add_app_template_global(item_block)


@bp.get("/favicon.ico")
def favicon() -> Response:
    assert current_app.static_folder is not None
    response = send_from_directory(current_app.static_folder, "img/favicon.ico",
                                   mimetype="image/vnd.microsoft.icon", max_age=ICON_MAX_AGE)
    response.headers["Cache-Control"] = f"public, max-age={ICON_MAX_AGE}"
    return response


# --- error pages ----------------------------------------------------------------------


def _texts(code: int) -> tuple[str, str]:
    """The title and the sentence of the page for an HTTP error."""
    if code == 404:
        return _("Page not found"), _("There is no page at this address. The address may have "
                                      "been cut or changed when it was copied.")
    if code == 405:
        return _("This page cannot be opened this way"), _(
            "This address answers a form, and cannot be opened on its own.")
    if code == 413:
        return _("What you sent is too large"), _("Please shorten what you wrote and send it "
                                                  "again.")
    if code >= 500:
        return _("Something went wrong on our side"), _(
            "We could not show this page. Please try again in a few minutes; nothing you "
            "saved before is lost.")
    return _("This page cannot be shown"), _("Something in the request was not right. Go back, "
                                            "reload the page and try again.")


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[str, int] | HTTPException:
    code = error.code or 500
    # A request for a host the portal does not serve has no addresses to link to:
    # it is no contact's, and gets the plain answer.
    if code < 400 or request_ctx.url_adapter is None:
        return error
    title, message = _texts(code)
    return render_template("errors/error.html", title=title, message=message), code


@bp.app_errorhandler(InternalServerError)
def server_error(error: InternalServerError) -> tuple[str, int] | InternalServerError:
    # The page itself must not fail: if it cannot be drawn, the plain one says the same.
    if request_ctx.url_adapter is None:
        return error
    try:
        title, message = _texts(500)
        return render_template("errors/error.html", title=title, message=message), 500
    except Exception:
        log.exception("The error page could not be drawn")
        return error


# --- shared by every page ----------------------------------------------------------------


@dataclass(frozen=True)
class SiteFooter:
    organisation: str
    text: str  # marketing's own words, in the contact's language
    links: tuple[tuple[str, str], ...]  # (text, url)


_FOOTERS: PerConfig[SiteFooter] = PerConfig()


@bp.app_template_global()
def site_footer() -> SiteFooter:
    """The footer in the contact's language: the same on every page, so
    worked out once per configuration and language."""
    config, language = current(), current_language()
    return _FOOTERS.get(config, language, lambda: _footer(config, language))


def _footer(config: Config, language: str) -> SiteFooter:
    page = config.page
    links = tuple((text, url) for text, url in (
        (_("Privacy policy"), text_for(page.privacy_url, language)),
        (_("Contact us"), text_for(page.contact_url, language))) if url)
    return SiteFooter(page.organisation or config.portal.name, text_for(page.footer, language),
                      links)


@bp.app_template_global()
def language_url(code: str) -> str:
    """This page in language `code`. After a form was sent to an address that
    takes only forms (a refused sign-in request), the start page instead: the
    same address would answer 405."""
    path = request.script_root + "/" + request.path.lstrip("/")  # never "//other-host"
    if request.method != "GET" and not _answers_get(request.path):
        path = url_for("auth.start")
    return f"{path}?{urlencode({'lang': code})}"


def _answers_get(path: str) -> bool:
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        adapter.match(path, method="GET")
    except HTTPException:
        return False
    return True
