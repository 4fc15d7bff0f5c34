"""Every word a contact sees exists in es, eu and en."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_i18n_script():
    spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_catalogs_are_complete_and_in_step_with_the_code():
    assert load_i18n_script().problems() == []


def test_basque_never_puts_a_suffix_on_the_site_name():
    """A site's name takes no Basque suffix ("Demo Elkartea-ri" reads wrong
    whatever the name): the sentences decline a word beside it instead."""
    from babel.messages.pofile import read_po

    with open(ROOT / "translations" / "eu" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle, locale="eu")
    texts = {m.id: m.string for m in catalog if m.id}
    declined = [text for text in texts.values() if "%(site)s-" in str(text)]
    assert declined == []
    assert texts["Unsubscribed from: %(items)s"] == "Baja hauetatik: %(items)s"


@pytest.mark.parametrize(("lang", "heading", "button"), [
    ("es", "Gestiona tus preferencias", "Envíame un enlace"),
    ("eu", "Kudeatu zure lehentasunak", "Bidali esteka bat"),
    ("en", "Manage your preferences", "Send me a link"),
])
def test_start_page_speaks_the_chosen_language(client, lang, heading, button):
    page = client.get(f"/?lang={lang}").data.decode()
    assert f'<html lang="{lang}">' in page
    assert heading in page and button in page


def test_language_comes_from_the_browser_then_sticks_in_the_session(client):
    page = client.get("/", headers={"Accept-Language": "eu-ES,eu;q=0.9,en;q=0.5"}).data.decode()
    assert '<html lang="eu">' in page
    client.get("/?lang=en")
    page = client.get("/", headers={"Accept-Language": "eu"}).data.decode()
    assert '<html lang="en">' in page


def test_spanish_is_the_default(client):
    page = client.get("/", headers={"Accept-Language": "fr"}).data.decode()
    assert '<html lang="es">' in page


def test_basque_validation_messages_are_basque(client):
    from tests.conftest import csrf_token

    page = client.get("/?lang=eu")
    answer = client.post("/sign-in", data={"email": "", "csrf_token": csrf_token(page.data)})
    assert "Idatzi zure helbide elektronikoa." in answer.data.decode()
