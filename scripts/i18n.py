"""Keep the gettext catalogs in step with the code.

    python scripts/i18n.py update   # extract messages, update es/eu/en, fill en, compile
    python scripts/i18n.py check    # fail on drift, untranslated, fuzzy or uncompiled entries

English is the source language, so its catalog simply repeats each message.
The compiled catalogs (.mo) are committed, so that an installed portal
(`pip install .`) speaks every language without a build step.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
LANGUAGES = ("es", "eu", "en")
KEYWORDS = ["-k", "_l", "-k", "lazy_gettext"]


def po_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def mo_path(lang: str) -> Path:
    return po_path(lang).with_suffix(".mo")


def compile_all() -> None:
    for lang in LANGUAGES:
        with open(po_path(lang), "rb") as handle:
            catalog = read_po(handle, locale=lang)
        with open(mo_path(lang), "wb") as handle:
            write_mo(handle, catalog)


def translations(catalog: Catalog) -> dict[object, object]:
    def key(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    return {key(m.id): key(m.string) for m in catalog if m.id and not m.fuzzy}


def extracted_ids() -> set[object]:
    """The message ids the code and templates use today."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
                "pgettext": ((1, "c"), 2), "N_": None}
    ids: set[object] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map, keywords=keywords):
        ids.add(message if isinstance(message, str) else tuple(message))
    return ids


def update() -> None:
    pot = TRANSLATIONS / "messages.pot"
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "pybabel", "extract", "-F", "babel.cfg", *KEYWORDS, "-o", pot,
                    "--no-location", "--sort-output", "--omit-header", "."], cwd=ROOT, check=True)
    for lang in LANGUAGES:
        command = "update" if po_path(lang).exists() else "init"
        subprocess.run([bin_dir / "pybabel", command, "-i", pot, "-d", TRANSLATIONS, "-l", lang,
                        *(["--no-fuzzy-matching", "--ignore-obsolete"] if command == "update"
                          else [])], cwd=ROOT, check=True)
    fill_english()
    compile_all()


def fill_english() -> None:
    with open(po_path("en"), "rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if (message.id and not message.string) or (isinstance(message.string, tuple)
                                                 and not all(message.string)):
            message.string = message.id
    write(catalog, po_path("en"))


def write(catalog: Catalog, path: Path) -> None:
    buffer = io.BytesIO()
    write_po(buffer, catalog, omit_header=False, sort_output=True, width=100)
    path.write_bytes(buffer.getvalue())


def problems() -> list[str]:
    """Untranslated, fuzzy, missing or stale entries in every catalog."""
    wanted = extracted_ids()
    found: list[str] = []
    for lang in LANGUAGES:
        with open(po_path(lang), "rb") as handle:
            catalog = read_po(handle)
        have = set()
        for message in catalog:
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else tuple(message.id)
            have.add(key)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(strings):
                found.append(f"{lang}: untranslated: {key!r}")
            if message.fuzzy:
                found.append(f"{lang}: fuzzy: {key!r}")
        found += [f"{lang}: missing (run scripts/i18n.py update): {k!r}" for k in wanted - have]
        found += [f"{lang}: no longer used: {k!r}" for k in have - wanted]
        if not mo_path(lang).exists() or translations(_read_mo(lang)) != translations(catalog):
            found.append(f"{lang}: the compiled catalog is not the .po's (run scripts/i18n.py compile)")
    return found


def _read_mo(lang: str) -> Catalog:
    with open(mo_path(lang), "rb") as handle:
        return read_mo(handle)


def main(argv: list[str]) -> int:
    if argv[1:] == ["update"]:
        update()
        return 0
    if argv[1:] == ["compile"]:
        compile_all()
        return 0
    if argv[1:] == ["check"]:
        listed = problems()
        print("\n".join(listed) or "Catalogs are complete and in step with the code.")
        return 1 if listed else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
