"""Choices taken from the CRM (`choices_from_crm`) while the CRM cannot give
its field catalogue: the page shows the copy it kept, or the field without
its choices, never an error, and a save leaves that field as it is."""

from __future__ import annotations

import re

from tests.conftest import csrf_token
from tests.resilience.conftest import signed_in_client


def sector_field(ac) -> str:
    field_id = ac.state.add_field("Sector", "dropdown", ("education", "culture"))
    ac.state.set_value(ac.contact, field_id, "culture")
    return field_id


def extra(field_id: str) -> str:
    return (f'\n[[fields]]\nkey = "sector"\ncrm_field = "{field_id}"\ntype = "select"\n'
            'label = "Sector"\nchoices_from_crm = true\n')


def sector_options(page: str) -> list[str]:
    select = re.search(r'<select[^>]*name="sector".*?</select>', page, re.S)
    return re.findall(r'<option[^>]*value="([^"]+)"', select.group(0)) if select else []


def test_the_kept_catalogue_serves_while_the_crm_is_busy(portal_for, ac, smtp):
    field_id = sector_field(ac)
    # The catalogue is read again on every page: the kept copy is what saves the page.
    app = portal_for(resilience={"catalog_cache_seconds": 0}, extra=extra(field_id))
    client = signed_in_client(app, smtp)
    assert sector_options(client.get("/profile/").data.decode()) == ["education", "culture"]
    ac.server.faults.rate_limit_next = 10  # the profile is cached; the catalogue call gets 429
    page = client.get("/profile/")
    assert page.status_code == 200
    assert sector_options(page.data.decode()) == ["education", "culture"]


def test_without_a_kept_catalogue_the_field_shows_its_value_and_a_save_keeps_it(portal_for, ac,
                                                                                  smtp):
    field_id = sector_field(ac)
    app = portal_for(extra=extra(field_id), main_options='rate_limit = "50/second"')
    client = signed_in_client(app, smtp)
    ac.drop_after["GET /api/3/fields"] = 1  # the profile is read; the catalogue is lost
    page = client.get("/profile/")
    assert page.status_code == 200
    html = page.data.decode()
    assert 'name="sector"' not in html and "culture" in html  # shown, not offered
    # A form sent from an earlier page still carries the field: it is not refused, nor written.
    ac.drop_after["GET /api/3/fields"] = 1
    answer = client.post("/profile/", data={"csrf_token": csrf_token(html), "action": "save",
                                            "first_name": "Miren", "topics": ["music"],
                                            "sector": ""})
    assert answer.status_code == 302
    assert ac.value(field_id) == "culture" and ac.row["firstName"] == "Miren"
    # Once the CRM answers again, the choices are back.
    assert sector_options(client.get("/profile/").data.decode()) == ["education", "culture"]
