"""Command-line tools an administrator runs."""

from __future__ import annotations

import tomllib

from portal.crm.base import FieldRef
from portal.delivery import delivery
from tests.conftest import csrf_token


def test_demo_seed_is_repeatable(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0 and "demo@example.org" in result.output
    crm = delivery(app).crm
    assert len(crm.find_contacts("demo@example.org")) == 1


def test_tokens_issue_prints_a_working_newsletter_link(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tokens", "issue", "demo@example.org", "nobody@example.org"])
    assert result.exit_code == 0, result.output
    link = result.output.split("demo@example.org: ", 1)[1].split()[0]
    assert "/n/" in link
    crm = delivery(app).crm
    contact = crm.find_contact("demo@example.org")
    token = crm.fetch_profile(contact, [FieldRef("portal_token")], []).values["portal_token"]
    assert link.endswith(token)
    # Issuing again keeps the same link; --replace revokes it.
    again = runner.invoke(args=["tokens", "issue", "demo@example.org"])
    assert link in again.output
    replaced = runner.invoke(args=["tokens", "issue", "--replace", "demo@example.org"])
    assert link not in replaced.output
    client = app.test_client()
    path = "/n/" + token
    page = client.get(path)
    client.post(path, data={"csrf_token": csrf_token(page.data)})
    assert client.get("/profile/").status_code == 302  # the old link no longer signs in


def test_tokens_issue_reads_a_crm_export_and_says_what_it_did(app, tmp_path):
    crm = delivery(app).crm
    crm.create_contact("second@example.org", "Second Reader")
    export = tmp_path / "export.csv"
    export.write_text("Nombre;Correo electrónico\nDemo;demo@example.org\n"
                      "Second;second@example.org\nNadie;nobody@example.org\n"
                      "Demo again;demo@example.org\n", encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tokens", "issue", "--from-file", str(export)])
    assert result.exit_code == 0, result.output
    assert "2 issued, 0 already had one, 1 not found, 0 failed." in result.output
    plain = tmp_path / "plain.txt"
    plain.write_text("second@example.org\n\ndemo@example.org\n", encoding="utf-8")
    again = runner.invoke(args=["tokens", "issue", "--from-file", str(plain)])
    assert "0 issued, 2 already had one, 0 not found, 0 failed." in again.output


def test_tokens_issue_names_the_missing_email_column(app, tmp_path):
    export = tmp_path / "export.csv"
    export.write_text("Name,Phone\nDemo,600000000\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["tokens", "issue", "--from-file", str(export)])
    assert result.exit_code != 0
    assert "No email column" in result.output and "name, phone" in result.output
    assert "Name at least one address" in app.test_cli_runner().invoke(
        args=["tokens", "issue"]).output


def test_doctor_on_the_demo_knows_the_tags_fields_lists(app):
    result = app.test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 0, result.output
    # demo@example.org carries this tag: `fields` lists it under "Tags in use".
    assert "Tags in use: interest-volunteering" in app.test_cli_runner().invoke(args=["fields"]).output
    assert 'item "volunteering" (tag interest-volunteering)\n' in result.output
    assert "not used yet" not in result.output.split('item "volunteering"')[1].split("\n")[0]


def test_a_starter_leaves_translations_to_marketing_and_skips_the_portals_own_fields(app):
    result = app.test_cli_runner().invoke(args=["fields", "--starter"])
    assert result.exit_code == 0, result.output
    starter = tomllib.loads(result.output)
    keys = [f["crm_field"] for f in starter["fields"]]
    assert "first_name" in keys
    assert "portal_token" not in keys and "portal_last_changed" not in keys
    first = next(f for f in starter["fields"] if f["crm_field"] == "first_name")
    assert first["label"] == {"es": "", "eu": "", "en": "First name"}
    assert 'en = "First name" }  # translate: es, eu' in result.output
