"""Marketing's configuration: problems reported with their line, and an app
that refuses to start on a bad file or without its signing key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal import create_app
from portal.config import ConfigError, load_config
from portal.hosting.security import MissingSecretKey
from tests.support.config import DEMO_LINE, STRONG_KEY, demo_config, served_at

ROOT = Path(__file__).resolve().parent.parent


def test_demo_configuration_is_valid():
    config = load_config(ROOT / "config" / "demo.toml")
    assert [f.key for f in config.fields][:3] == ["first_name", "last_name", "email"]
    assert [g.key for g in config.groups] == ["newsletters", "interests", "notifications"]


def test_every_problem_is_reported_with_its_line(tmp_path):
    path = demo_config(tmp_path, replace={
        'key = "phone"\ncrm_field = "phone"\ntype = "tel"':
            'key = "phone"\ncrm_field = "phone"\ntype = "telephone"',
        "link_lifetime_minutes = 30": "link_lifetime_minutes = 0",
        'label = { es = "Sector", eu = "Sektorea", en = "Sector" }':
            'label = { es = "Sector", en = "Sector" }',
    })
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = caught.value.problems
    lines = path.read_text().splitlines()
    assert len(problems) == 3, problems
    pointed = set()
    for problem in problems:
        line = lines[int(problem.split(",")[0].removeprefix("line ")) - 1]
        pointed |= {n for n in ("link_lifetime", "telephone", "Sector") if n in line}
    assert pointed == {"link_lifetime", "telephone", "Sector"}, problems
    assert any('"telephone" is not one of' in p for p in problems)
    assert any("has no text for eu" in p for p in problems)


def test_invalid_toml_is_explained(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[portal\nname = 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "not valid TOML" in caught.value.problems[0]


def test_unknown_crm_and_missing_block(tmp_path):
    path = demo_config(tmp_path, replace={'type = "local"': 'type = "dynamics"',
                                          'crm = "main"': 'crm = "main"\nmirrors = ["parent"]'})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = "\n".join(caught.value.problems)
    assert "crm.main.type" in text and "must be one of" in text
    assert 'no [crm.parent] block' in text


def test_check_config_command_lists_problems_even_when_the_app_cannot_load(tmp_path):
    path = demo_config(tmp_path, replace={"session_idle_minutes = 30": "session_idle_minutes = -5"})
    env = {**os.environ, "PORTAL_CONFIG": str(path), "PORTAL_INSTANCE": str(tmp_path / "i")}
    flask = Path(sys.executable).parent / "flask"
    result = subprocess.run([flask, "--app", "wsgi", "check-config"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "session_idle_minutes" in result.stderr and "line" in result.stderr
    good = subprocess.run([flask, "--app", "wsgi", "check-config", str(ROOT / "config/demo.toml")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert good.returncode == 0 and "OK" in good.stdout


def test_app_refuses_to_start_on_invalid_configuration(tmp_path):
    path = demo_config(tmp_path, replace={'default_language = "es"': 'default_language = "fr"'})
    env = {**os.environ, "PORTAL_CONFIG": str(path), "PORTAL_INSTANCE": str(tmp_path / "i")}
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "cannot start" in result.stderr and "default_language" in result.stderr


def test_outside_the_demo_a_signing_key_is_required(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_INSTANCE", str(tmp_path / "i"))
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    path = demo_config(tmp_path, replace=served_at("https://www.example.org/preferencias"))
    with pytest.raises(MissingSecretKey, match="PORTAL_SECRET_KEY"):
        create_app(path)
    monkeypatch.setenv("PORTAL_SECRET_KEY", STRONG_KEY)
    assert create_app(path).config["SECRET_KEY"] == STRONG_KEY


@pytest.mark.parametrize("weak", ["a" * 41, "k" * 64, "ab" * 40, "password" * 8])
def test_a_signing_key_that_is_long_but_guessable_is_refused(tmp_path, monkeypatch, weak):
    monkeypatch.setenv("PORTAL_INSTANCE", str(tmp_path / "i"))
    monkeypatch.setenv("PORTAL_SECRET_KEY", weak)
    path = demo_config(tmp_path, replace=served_at("https://www.example.org/preferencias"))
    with pytest.raises(MissingSecretKey, match=r"too easy to guess.*token_urlsafe"):
        create_app(path)


def test_outside_the_demo_the_public_address_is_required(tmp_path):
    path = demo_config(tmp_path, replace={DEMO_LINE: "demo = false"})
    with pytest.raises(ConfigError, match=r"portal\.public_url: is required outside the demo"):
        load_config(path)


@pytest.mark.parametrize("url", ["https://www.example.org/preferencias?x=1", "ftp://example.org",
                                 "https://evil.example;script-src *", "http://www.example.org/p",
                                 "https://user:pw@www.example.org", "https://www.example.org//evil"])
def test_a_public_address_that_is_not_one_is_refused(tmp_path, url):
    path = demo_config(tmp_path, replace=served_at(url))
    with pytest.raises(ConfigError, match=r"portal\.public_url"):
        load_config(path)


def test_the_demo_refuses_to_serve_anything_but_this_machine(tmp_path):
    path = demo_config(tmp_path, append="")
    text = path.read_text().replace(DEMO_LINE, DEMO_LINE + '\npublic_url = "https://www.example.org"')
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"portal\.demo: the demo serves only this machine"):
        load_config(path)


def test_demo_keeps_its_own_key_across_restarts(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_INSTANCE", str(tmp_path / "i"))
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    path = demo_config(tmp_path)
    first = create_app(path).config["SECRET_KEY"]
    assert len(first) >= 32 and create_app(path).config["SECRET_KEY"] == first
    assert (tmp_path / "i" / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(("typo", "place"), [("databse_url = \"x\"", "portal.databse_url"),
                                             ("smtp_hots = \"x\"", "mail.smtp_hots")])
def test_a_misspelt_setting_is_named_not_ignored(tmp_path, typo, place):
    section = "[portal]" if place.startswith("portal") else "[mail]"
    path = demo_config(tmp_path, replace={section: f"{section}\n{typo}"})
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert any(place in problem and "is not a setting" in problem for problem in refused.value.problems)


def test_the_way_out_and_page_settings_are_checked(tmp_path):
    path = demo_config(tmp_path, replace={
        'autocomplete = "given-name"': 'autocomplete = "first-name"',
        'earliest = "1900-01-01"': 'earliest = "1900-13-01"',
        'key = "phone"\ncrm_field = "phone"\ntype = "tel"': 'key = "phone"\ncrm_field = "phone"\n'
                                                           'type = "tel"\nlatest = "today"',
        'crm = "main"': 'crm = "main"\nprofile_order = ["details"]',
        'contact_url = "mailto:info@example.org"': 'contact_url = "javascript:alert(1)"',
        'crm_field = "emails_paused_until"': 'crm_field = "emails_paused_until"\ncolour = "red"',
        "in_unsubscribe_all = false ": 'in_unsubscribe_all = "no" ',
    })
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = "\n".join(caught.value.problems)
    assert len(caught.value.problems) == 7, problems
    for expected in ('"first-name" is not an autofill name', "fields[4].earliest", "is not a date",
                     "fields[3].latest: is only for date fields", "portal.profile_order: must list",
                     "page.contact_url", "portal.unsubscribe.pause.colour",
                     "groups[2].in_unsubscribe_all: must be true or false"):
        assert expected in problems, expected
