"""The plugin as shipped: its catalogs are complete and in step with the code,
the compiled ones match, and the zip has the layout WordPress expects."""

from __future__ import annotations

import importlib.util
import re
import zipfile

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from portal.shipped import SOURCE_TREE as ROOT
from tests.browser.conftest import need

spec = importlib.util.spec_from_file_location("plugin_build", ROOT / "wordpress" / "build.py")
assert spec and spec.loader
build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build)


def messages(path) -> dict[tuple[str | None, str], str]:
    with open(path, "rb") as handle:
        catalog = read_mo(handle) if str(path).endswith(".mo") else read_po(handle)
    return {(m.context, m.id): m.string for m in catalog if m.id}


def test_pot_is_in_step_with_the_code(tmp_path):
    need("xgettext", "gettext")
    fresh = tmp_path / "fresh.pot"
    build.extract(fresh)
    assert set(messages(fresh)) == set(messages(build.LANGUAGES / "preference-portal.pot"))


@pytest.mark.parametrize("locale", build.LOCALES)
def test_every_string_is_translated_and_compiled(tmp_path, locale):
    need("msgfmt", "gettext")
    po = build.po_file(locale)
    wanted = set(messages(build.LANGUAGES / "preference-portal.pot"))
    translated = messages(po)
    assert set(translated) == wanted
    assert not [key for key, text in translated.items() if not text]
    assert "#, fuzzy" not in po.read_text(encoding="utf-8")
    build.compile_translations(tmp_path)
    assert messages(tmp_path / po.with_suffix(".mo").name) == messages(po.with_suffix(".mo"))
    name = build.script_translations_name(locale)
    assert (tmp_path / name).read_text() == (build.LANGUAGES / name).read_text()


def test_zip_installs_as_one_folder_with_the_plugin_header(tmp_path):
    archive = zipfile.ZipFile(build.build_zip(tmp_path / "plugin.zip"))
    names = archive.namelist()
    assert all(name.startswith("preference-portal/") for name in names)
    for needed in ("preference-portal.php", "readme.txt", "uninstall.php", "block/block.json",
                   "languages/preference-portal-eu.mo", "languages/preference-portal-es_ES.mo",
                   "languages/preference-portal.pot"):
        assert f"preference-portal/{needed}" in names
    header = archive.read("preference-portal/preference-portal.php").decode()
    assert re.search(r"^ \* Plugin Name: +Preference Portal$", header, re.M)
    assert re.search(r"^ \* Requires at least: +6\.1$", header, re.M)
    assert re.search(r"^ \* Requires PHP: +8\.1$", header, re.M)
    readme = archive.read("preference-portal/readme.txt").decode()
    assert readme.startswith("=== Preference Portal ===")
    version = re.search(r"^ \* Version: +(\S+)$", header, re.M).group(1)
    assert f"Stable tag: {version}" in readme


def test_every_php_file_refuses_to_run_outside_wordpress():
    for path in build.PLUGIN.rglob("*.php"):
        text = path.read_text(encoding="utf-8")
        guard = "WP_UNINSTALL_PLUGIN" if path.name == "uninstall.php" else "ABSPATH"
        assert f"defined( '{guard}' )" in text, path
