"""The profile page keeps what every contact's page shares (labels, options,
attributes) and writes the rest for each view: two contacts who use the same
portal process one after the other each see their own values, their own
choices selected and their own errors, never the other's."""

from __future__ import annotations

import re

import pytest

from tests.conftest import sign_in
from tests.web.test_profile import current_form

ANE, JON = "demo@example.org", "jon@example.org"  # the demo's contacts: Spain, France


@pytest.fixture
def ane_and_jon(app, smtp):
    ane, jon = app.test_client(), app.test_client()
    sign_in(ane, smtp, ANE)
    sign_in(jon, smtp, JON)
    return ane, jon


def chosen(page: str, name: str) -> list[str]:
    body = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert body, f"the page has no {name} select"
    return re.findall(r'<option selected value="([^"]*)"', body.group(1))


def test_each_contact_sees_their_own_country_in_every_language(ane_and_jon):
    ane, jon = ane_and_jon
    for language in ("es", "eu", "en", "es"):
        ane_page = ane.get(f"/profile/?lang={language}").data.decode()
        jon_page = jon.get(f"/profile/?lang={language}").data.decode()
        assert chosen(ane_page, "country") == ["ES"] and chosen(jon_page, "country") == ["FR"]
        assert chosen(ane_page, "sector") == ["culture"] and chosen(jon_page, "sector") == []
        assert 'value="Ane"' in ane_page and 'value="Jon"' in jon_page
        assert "Jon" not in ane_page and "Ane" not in jon_page


def test_an_error_on_one_contacts_form_stays_on_that_form(ane_and_jon):
    ane, jon = ane_and_jon
    ane.get("/profile/?lang=en")
    form = current_form(ane)
    form.update(first_name="", birth_date="31/05/1990", country="XX")
    refused = ane.post("/profile/?lang=en", data=form)
    assert refused.status_code == 400
    page = refused.data.decode()
    assert page.count('class="field-error"') == 3
    assert re.search(r'<input aria-describedby="birth_date-error" aria-invalid="true"[^>]*'
                     r'value="31/05/1990"', page)  # what the contact typed, to correct it
    assert chosen(page, "country") == []  # "XX" is no country on offer

    jon_page = jon.get("/profile/?lang=en").data.decode()
    assert "field-error" not in jon_page and "aria-invalid" not in jon_page
    assert 'id="error-summary"' not in jon_page and "31/05/1990" not in jon_page
    assert chosen(jon_page, "country") == ["FR"]
    # Ane's next page shows what is stored, without the errors she was shown.
    again = ane.get("/profile/?lang=en").data.decode()
    assert "field-error" not in again and 'value="1990-05-31"' in again
    assert chosen(again, "country") == ["ES"]
