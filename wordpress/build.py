"""Build the WordPress plugin's zip, and keep its translations in step.

    python3 wordpress/build.py          # compile translations, write dist/preference-portal.zip
    python3 wordpress/build.py update   # extract the strings into the .pot, merge the .po files
    python3 wordpress/build.py zip OUT  # only the zip, from the files as they are, to OUT

Uses GNU gettext (Debian's `gettext` package): xgettext, msgmerge, msgfmt.
The zip installs through Plugins -> Add New -> Upload Plugin.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLUGIN = HERE / "preference-portal"
LANGUAGES = PLUGIN / "languages"
DOMAIN = "preference-portal"
LOCALES = ("es_ES", "eu")
EDITOR_SCRIPT = "assets/editor.js"  # the one script with translated strings
ZIP = HERE.parent / "dist" / f"{DOMAIN}.zip"
PHP_KEYWORDS = ["__", "_e", "esc_html__", "esc_html_e", "esc_attr__", "esc_attr_e",
                "_x:1,2c", "_n:1,2"]


def po_file(locale: str) -> Path:
    return LANGUAGES / f"{DOMAIN}-{locale}.po"


def extract(output: Path) -> None:
    """Every translatable string of the PHP and JavaScript files into `output`."""
    php = sorted(str(p.relative_to(PLUGIN)) for p in PLUGIN.rglob("*.php"))
    common = ["--from-code=UTF-8", "--sort-by-file", "--add-comments=translators:",
              f"--package-name={DOMAIN}", "--msgid-bugs-address=-", "-o", str(output)]
    subprocess.run(["xgettext", "--language=PHP", *[f"--keyword={k}" for k in PHP_KEYWORDS],
                    *common, *php], cwd=PLUGIN, check=True)
    subprocess.run(["xgettext", "--language=JavaScript", "--keyword=__", "--join-existing",
                    *common, EDITOR_SCRIPT], cwd=PLUGIN, check=True)
    block = json.loads((PLUGIN / "block" / "block.json").read_text(encoding="utf-8"))
    header = (PLUGIN / f"{DOMAIN}.php").read_text(encoding="utf-8")
    # What WordPress also translates: the plugin header, and block.json by context.
    extra = [("preference-portal.php", "", re.search(rf"^ \* {key}:\s+(.+)$", header, re.M)
              .group(1)) for key in ("Plugin Name", "Description")]  # type: ignore[union-attr]
    extra += [("block/block.json", context, text) for context, text in
              [("block title", block["title"]), ("block description", block["description"]),
               *[("block keyword", k) for k in block["keywords"]]]]
    with output.open("a", encoding="utf-8") as pot:
        for where, context, text in extra:
            context_line = f'msgctxt "{context}"\n' if context else ""
            pot.write(f'\n#: {where}\n{context_line}msgid "{text}"\nmsgstr ""\n')
    text = output.read_text(encoding="utf-8").replace("charset=CHARSET", "charset=UTF-8")
    output.write_text(text, encoding="utf-8")


def update() -> None:
    pot = LANGUAGES / f"{DOMAIN}.pot"
    extract(pot)
    for locale in LOCALES:
        subprocess.run(["msgmerge", "--quiet", "--update", "--backup=none", "--no-fuzzy-matching",
                        str(po_file(locale)), str(pot)], check=True)


def compile_translations(folder: Path = LANGUAGES) -> None:
    """The .mo files and the editor script's JSON files, into `folder`."""
    for locale in LOCALES:
        po = po_file(locale)
        subprocess.run(["msgfmt", "--check", "-o", str(folder / po.with_suffix(".mo").name),
                        str(po)], check=True)
        write_script_translations(locale, po, folder)


def script_translations_name(locale: str) -> str:
    """WordPress looks for DOMAIN-LOCALE-md5(script path).json."""
    digest = hashlib.md5(EDITOR_SCRIPT.encode()).hexdigest()  # noqa: S324 (WordPress's naming)
    return f"{DOMAIN}-{locale}-{digest}.json"


def write_script_translations(locale: str, po: Path, folder: Path) -> None:
    """The editor script's strings as the JSON file wp_set_script_translations() loads."""
    messages: dict[str, object] = {"": {"domain": "messages", "lang": locale}}
    for msgid, msgstr in script_messages(po).items():
        messages[msgid] = [msgstr]
    (folder / script_translations_name(locale)).write_text(
        json.dumps({"domain": "messages", "locale_data": {"messages": messages}},
                   ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def script_messages(po: Path) -> dict[str, str]:
    """The translated messages whose references include the editor script."""
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle)
    return {m.id: m.string for m in catalog
            if m.id and m.string and isinstance(m.id, str) and isinstance(m.string, str)
            and any(file == EDITOR_SCRIPT for file, _line in m.locations)}


def build_zip(target: Path = ZIP) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(PLUGIN.rglob("*")):
            if path.is_file() and not path.name.endswith("~"):
                archive.write(path, f"{DOMAIN}/{path.relative_to(PLUGIN)}")
    return target


def main(argv: list[str]) -> None:
    if argv[1:] == ["update"]:
        update()
    elif argv[1:2] == ["zip"] and len(argv) == 3:
        print(build_zip(Path(argv[2])))
    else:
        compile_translations()
        print(build_zip())


if __name__ == "__main__":
    main(sys.argv)
