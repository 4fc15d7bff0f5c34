"""The marketing workspace at /staff/: staff sign in (an emailed link or
the WordPress plugin's assertion), see what the CRM offers, edit a draft of
what contacts see, preview it in every language, publish it as a new
version, and roll back to any earlier one. The published layout lives in
the portal's database; the configuration file's layout seeds version 1."""

from __future__ import annotations

import logging
from contextvars import ContextVar
from datetime import timedelta
from typing import TYPE_CHECKING

from flask import Flask

from portal.config import PUBLISHED, Config, PageTexts, current

if TYPE_CHECKING:
    from portal.staff.store import LayoutStore

log = logging.getLogger(__name__)
# The draft's configuration while a preview renders (a context variable: pages
# call current() dozens of times each, and this costs next to nothing).
PREVIEW: ContextVar[Config | None] = ContextVar("staff_preview_config", default=None)


def init_app(app: Flask) -> None:
    """Seed version 1 from the file on first start, serve the newest
    version to every page, and open the workspace (after portal.db and portal.auth)."""
    from portal.auth.links import SignInLinks
    from portal.db import database
    from portal.staff import catalogue, doors, history, preview, views  # noqa: F401 - their routes
    from portal.staff.blueprint import bp
    from portal.staff.document import document_of
    from portal.staff.published import PublishedLayout
    from portal.staff.sessions import StaffSessions
    from portal.staff.store import LayoutStore
    from portal.staff.workspace import EXTENSION, Workspace

    config: Config = app.config["PORTAL"]
    db = database(app)
    store = LayoutStore(db)
    if store.seed(document_of(config)) is None:
        _say_if_the_file_differs(store, config)
    published = PublishedLayout(store, config)

    def serving() -> Config:
        return PREVIEW.get() or published()

    app.extensions[PUBLISHED] = serving
    app.extensions[EXTENSION] = Workspace(
        store=store,
        links=SignInLinks(app.config["SECRET_KEY"], db, config.portal.link_lifetime_minutes * 60,
                          purpose="staff"),
        sessions=StaffSessions(db, timedelta(minutes=config.staff.session_idle_minutes),
                               timedelta(hours=config.staff.session_lifetime_hours)),
        published=published)
    app.register_blueprint(bp)
    app.jinja_env.globals["page_texts"] = _page_texts


def _page_texts() -> PageTexts:
    return current().page


def _say_if_the_file_differs(store: LayoutStore, config: Config) -> None:
    from portal.staff.document import document_of

    newest = store.newest_id()
    version = store.version(newest) if newest is not None else None
    if version is not None and version.document != document_of(config):
        log.warning("The fields, groups or page texts in %s differ from the published layout "
                    "(version %d), which the portal serves: the workspace at /staff/ owns the "
                    "layout now. `portal layout export` prints it; `portal layout import FILE` "
                    "publishes a file's.", config.path, version.id)
