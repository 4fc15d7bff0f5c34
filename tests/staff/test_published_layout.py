"""Contacts' pages serve the published layout: version 1 from the file on
first start, any newer version within seconds in every process without a
restart, and no database query for it between two checks."""

from __future__ import annotations

import logging
import time

from sqlalchemy import event

from portal import create_app
from portal.config import current
from portal.db import database
from portal.staff.published import CHECK_EVERY
from portal.staff.store import Conflict
from portal.staff.workspace import workspace
from tests.conftest import sign_in
from tests.staff.conftest import field_form, press, wait_until_served


def test_the_file_seeds_version_one(app):
    with app.app_context():
        versions = workspace().store.versions()
        assert [v.id for v in versions] == [1]
        assert [f.key for f in current().fields] == [f.key for f in app.config["PORTAL"].fields]


def test_version_one_serves_every_setting_the_file_wrote(app):
    """Each field, group, item and page setting survives the trip into the
    database: a setting the workspace's document forgets would change what
    contacts see the moment the portal first starts."""
    file = app.config["PORTAL"]
    with app.app_context():
        served = current()
        assert served.fields == file.fields
        assert served.groups == file.groups
        assert served.page == file.page


def test_another_worker_serves_a_new_version_within_seconds(staff, staff_app, smtp):
    other = create_app(staff_app.config["PORTAL"].path, {"TESTING": True})  # another process
    contact = other.test_client()
    sign_in(contact, smtp)
    assert "Nombre" in contact.get("/profile/").data.decode()
    form = field_form(staff, 0)
    form["label_es"] = "Tu nombre de pila"
    staff.post("/staff/draft/fields/0", data=form)
    assert press(staff, "/staff/publish", note="friendlier").status_code == 302
    wait_until_served(contact, "/profile/", "Tu nombre de pila")  # in the other worker


def test_pages_do_not_ask_the_database_for_the_layout_between_checks(app, client, smtp):
    sign_in(client, smtp)
    client.get("/profile/")
    asked: list[str] = []

    def note(conn, cursor, statement, *args):
        if "layout_versions" in statement:
            asked.append(statement)

    engine = database(app).engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        started = time.monotonic()
        pages = 0
        while time.monotonic() - started < CHECK_EVERY * 0.8:
            assert client.get("/profile/").status_code == 200
            pages += 1
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert pages >= 5 and len(asked) <= 2, (pages, asked)


def test_start_up_says_when_the_files_layout_differs(make_app, caplog):
    make_app()
    with caplog.at_level(logging.WARNING, logger="portal.staff"):
        make_app(replace={'label = { es = "Nombre", eu = "Izena", en = "First name" }':
                          'label = { es = "Nombre de pila", eu = "Izena", en = "First name" }'})
    assert any("differ from the published layout (version 1)" in r.getMessage()
               for r in caplog.records)


def test_versions_and_drafts_on_both_databases(backend, make_app):
    """The store on SQLite and on a real PostgreSQL: seeding once, a
    conflicting publish refused, drafts kept per staff member."""
    app = make_app()
    with app.app_context():
        store = workspace().store
        seeded = store.versions()[0].document
        assert store.seed({"fields": []}) is None  # version 1 exists: nothing changes
        store.save_draft("a@example.org", 1, {"fields": [], "groups": seeded["groups"]})
        store.save_draft("a@example.org", 1, seeded)  # saved again: one draft per person
        assert store.draft("a@example.org").document == seeded
        assert store.publish(seeded, "first", "a@example.org", base_version=1) == 2
        try:
            store.publish(seeded, "late", "b@example.org", base_version=1)
        except Conflict as conflict:
            assert conflict.newest == 2
        else:
            raise AssertionError("a publish from an old version went through")
        assert [v.id for v in store.versions()] == [2, 1]
        assert [a.action for a in store.actions()][:1] == ["publish"]
