"""Newsletter tokens for a whole contact export, against a CRM that allows
5 requests a second: every contact gets a token, the CRM never says 429."""

from __future__ import annotations

from datetime import UTC, datetime

from portal import create_app
from portal.delivery import delivery
from tests.resilience.conftest import EMAIL, config_text

OTHERS = [f"reader{n}@example.org" for n in range(3)]


def test_a_contact_export_gets_tokens_under_the_crms_limit(ac, smtp, tmp_path, monkeypatch):
    ac.server.faults.per_second = 5  # ActiveCampaign's documented limit, enforced by the fake
    token_field = ac.state.add_field("Portal token", "text")
    refs = {email: ac.state.add_contact(email, datetime(2026, 2, 1, tzinfo=UTC))
            for email in OTHERS}
    refs[EMAIL] = ac.contact
    monkeypatch.setenv("PORTAL_INSTANCE", str(tmp_path / "instance"))
    path = tmp_path / "portal.toml"
    path.write_text(config_text(ac, smtp.port).replace(
        'crm = "main"', f'crm = "main"\nnewsletter_token_field = "{token_field}"'), encoding="utf-8")
    app = create_app(path, {"TESTING": True})
    export = tmp_path / "contacts.csv"
    rows = [f"Reader {n},{email}" for n, email in enumerate([*OTHERS, EMAIL])]
    export.write_text("Full name,Email\n" + "\n".join(rows) + "\nNobody,nobody@example.org\n",
                      encoding="utf-8")

    result = app.test_cli_runner().invoke(args=["tokens", "issue", "--from-file", str(export)])

    assert result.exit_code == 0, result.output
    assert "4 issued, 0 already had one, 1 not found, 0 failed." in result.output
    assert ac.server.rate_limited == 0
    tokens = {}
    for email, ref in refs.items():
        ac.contact = ref
        tokens[email] = ac.value(token_field)
        assert tokens[email], f"{email} has no token in the CRM"
        assert f"{email}: http" in result.output
        assert result.output.count(tokens[email]) == 2  # the link and List-Unsubscribe
    assert len(set(tokens.values())) == len(tokens)  # one token per contact
    delivery(app).queue.stop_worker()
