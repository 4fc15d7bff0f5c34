"""The draft: edits kept at once and whatever was typed, problems beside
what they concern in the staff member's language, moving and removing with
plain buttons, the CRM's findings, and publishing with its conflicts."""

from __future__ import annotations

import re

from portal import create_app
from portal.crm.base import CrmUnavailable
from portal.delivery import delivery
from tests.staff.conftest import EDITOR, field_form, press, sign_in_staff, token_of


def field_keys(client) -> list[str]:
    html = client.get("/staff/draft").data.decode()
    return re.findall(r'<p class="help">Clave (\w+),', html)


def test_a_missing_translation_is_shown_beside_the_label_in_the_staff_members_language(staff):
    form = field_form(staff, 0)
    form["label_eu"] = ""
    saved = staff.post("/staff/draft/fields/0", data=form)
    assert saved.status_code == 302
    page = staff.get("/staff/draft/fields/0?lang=eu").data.decode()
    assert "ez du testurik eu hizkuntzan" in page  # the check-config message, in Basque
    spanish = staff.get("/staff/draft/fields/0?lang=es").data.decode()
    label_part = spanish.split('id="label-problems"', 1)[1].split("</ul>", 1)[0]
    assert "no tiene texto en eu" in label_part
    assert "(falta)" in spanish


def test_what_was_typed_survives_a_validation_error_and_a_restart(staff, staff_app, smtp):
    form = field_form(staff, 0)
    form.update(max_length="eighty", pattern="([", label_es="Nombre de pila")
    staff.post("/staff/draft/fields/0", data=form)
    page = staff.get("/staff/draft/fields/0").data.decode()
    assert 'value="eighty"' in page and 'value="(["' in page and 'value="Nombre de pila"' in page
    assert "no es una expresión regular válida" in page
    # Another worker (or this one after a crash) finds the draft where it was.
    restarted = create_app(staff_app.config["PORTAL"].path, {"TESTING": True})
    client = restarted.test_client()
    sign_in_staff(client, smtp)
    again = client.get("/staff/draft/fields/0").data.decode()
    assert 'value="eighty"' in again and 'value="Nombre de pila"' in again


def test_nothing_with_problems_is_published(staff):
    form = field_form(staff, 0)
    form["label_eu"] = ""
    staff.post("/staff/draft/fields/0", data=form)
    answer = press(staff, "/staff/publish", note="broken")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("#problems")
    assert "Versión 2" not in staff.get("/staff/history").data.decode()


def test_fields_move_and_go_with_plain_buttons(staff):
    before = field_keys(staff)
    press(staff, "/staff/draft/move", kind="fields", place="1", direction="up")
    assert field_keys(staff)[:2] == [before[1], before[0]]
    press(staff, "/staff/draft/remove", kind="fields", place="0")
    assert field_keys(staff) == [before[0], *before[2:]]
    assert "Campo “last_name” eliminado" in staff.get("/staff/draft").data.decode()


def test_items_move_within_their_group(staff):
    press(staff, "/staff/draft/move", kind="items", place="0,1", direction="up")
    html = staff.get("/staff/draft").data.decode()
    assert html.index("Agenda de eventos") < html.index("Boletín semanal")
    assert "Nuevo orden de los elementos: events, weekly" in html


def test_a_field_the_crm_lacks_is_flagged_beside_it(staff):
    form = field_form(staff, 1)
    form["crm_field"] = "surname"
    staff.post("/staff/draft/fields/1", data=form)
    html = staff.get("/staff/draft").data.decode()
    row = html.split('id="fields-1"', 1)[1].split("</li>", 1)[0]
    assert "no está en el CRM" in row


def test_publishing_needs_no_crm(staff, staff_app, monkeypatch):
    crm = delivery(staff_app).crm
    delivery(staff_app).profiles.forget_catalog(crm)

    def down():
        raise CrmUnavailable("connection refused", crm="main")

    monkeypatch.setattr(crm, "describe", down)
    form = field_form(staff, 0)
    form["label_es"] = "Tu nombre"
    staff.post("/staff/draft/fields/0", data=form)
    html = staff.get("/staff/draft").data.decode()
    assert "No se ha podido preguntar al CRM" in html
    answer = press(staff, "/staff/publish", note="while the CRM is down")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/staff/history")
    history = staff.get("/staff/history").data.decode()
    assert "while the CRM is down" in history


def test_the_second_publisher_sees_a_conflict(staff_app, smtp):
    first, second = staff_app.test_client(), staff_app.test_client()
    sign_in_staff(first, smtp)
    sign_in_staff(second, smtp, "boss@example.org")
    for client, text in ((first, "Nombre (1)"), (second, "Nombre (2)")):
        form = field_form(client, 0)
        form["label_es"] = text
        client.post("/staff/draft/fields/0", data=form)
    assert press(first, "/staff/publish", note="first").status_code == 302
    conflict = press(second, "/staff/publish", note="second")
    assert conflict.status_code == 409
    html = conflict.data.decode()
    assert "marketing@example.org publicó la versión 2" in html
    assert "Nombre → Nombre (1)" in html  # what the other one changed
    assert "Nombre (1) → Nombre (2)" in html  # what publishing this draft would change
    overwrite = second.post("/staff/publish", data={"csrf_token": token_of(html), "note": "second",
                                                    "overwrite": "2"})
    assert overwrite.status_code == 302
    assert "Versión 3" in second.get("/staff/history").data.decode()


def test_history_shows_each_change_and_any_version_comes_back(staff):
    form = field_form(staff, 0)
    form["label_en"] = "Given name"
    staff.post("/staff/draft/fields/0", data=form)
    press(staff, "/staff/publish", note="clearer")
    version = staff.get("/staff/history/2").data.decode()
    assert "label.en: First name → Given name" in version and "marketing@example.org" in version
    page = staff.get("/staff/history/1")
    answer = staff.post("/staff/history/1/publish", data={"csrf_token": token_of(page.data),
                                                          "note": "undo"})
    assert answer.status_code == 302
    history = staff.get("/staff/history").data.decode()
    assert "Versión 3" in history and "(lo mismo que la versión 1)" in history
    assert "label.en: Given name → First name" in staff.get("/staff/history/3").data.decode()


def test_every_staff_action_is_recorded(staff):
    press(staff, "/staff/draft/move", kind="fields", place="1", direction="up")
    press(staff, "/staff/catalogue/refresh")
    html = staff.get("/staff/actions").data.decode()
    for action in ("sign in: link, publisher", "move: fields (1,) up", "refresh catalogue"):
        assert action in html
    assert html.count("marketing@example.org") >= 3


def test_an_editor_prepares_and_previews_but_does_not_create_in_the_crm(staff_app, smtp):
    client = staff_app.test_client()
    sign_in_staff(client, smtp, EDITOR)
    answer = press(client, "/staff/catalogue/create-list", key="9", label="Nueva")
    assert answer.status_code == 403
