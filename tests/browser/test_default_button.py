"""Finding 8: pressing Enter in a text field saves what was typed, in the
browser, with and without JavaScript; it never ticks a whole group."""

from __future__ import annotations

import pytest

from portal.config import current
from portal.crm.base import FieldRef
from portal.delivery import delivery
from tests.browser.flows import sign_in
from tests.support.live import serve


@pytest.mark.parametrize("javascript", [True, False])
def test_enter_in_a_text_field_saves_and_ticks_nothing(browser, make_app, smtp, javascript):
    context = browser.new_context(locale="es-ES", java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    page = context.new_page()
    app = make_app()
    crm = delivery(app).crm
    contact = crm.find_contact("demo@example.org")
    with app.app_context():
        items = [i.item for i in current().items()]  # the published layout's
    before = crm.fetch_profile(contact, [], items)
    with serve(app) as base:
        sign_in(page, base, smtp)
        field = page.locator("input[name=first_name]")
        field.fill("Miren")
        field.press("Enter")
        page.wait_for_load_state()
        assert page.locator(".message-success").is_visible()
    context.close()
    after = crm.fetch_profile(contact, [FieldRef("first_name")], items)
    assert after.values["first_name"] == "Miren"
    assert after.subscribed == before.subscribed  # no group was ticked whole
