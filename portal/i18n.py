"""Languages: es (default), eu and en. The language comes from `?lang=`, then
the session, then the browser's Accept-Language, then the configured default."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, request, session
from flask_babel import Babel, get_locale, get_translations
from jinja2.ext import _make_new_gettext, _make_new_ngettext

from portal.config import current
from portal.shipped import folder

LANGUAGE_NAMES = {"es": "Español", "eu": "Euskara", "en": "English"}


def languages() -> tuple[str, ...]:
    return current().portal.languages


def select_language() -> str:
    allowed = languages()
    asked = request.args.get("lang", "")
    if asked in allowed:
        if session.get("lang") != asked:  # the same language again leaves the record as it is
            session["lang"] = asked
        return asked
    kept = session.get("lang")
    if isinstance(kept, str) and kept in allowed:
        return kept
    best = request.accept_languages.best_match(allowed)
    return best or current().portal.default_language


def current_language() -> str:
    return str(get_locale() or current().portal.default_language)


def text_for(labels: Mapping[str, str], language: str | None = None) -> str:
    """Marketing's text in the contact's language, falling back to the default."""
    if not labels:
        return ""
    language = language or current_language()
    default = current().portal.default_language
    return labels.get(language) or labels.get(default) or next(iter(labels.values()))


def templates_translations() -> dict[str, Any]:
    """The request's translations, looked up once per template rendered:
    Flask-Babel's template functions look the language up again for every
    string (a profile page has dozens). Jinja's own wrappers keep `_()` and
    `ngettext()` what they were (escaping, %(name)s placeholders)."""
    translations = get_translations()
    return {"gettext": _make_new_gettext(translations.ugettext),
            "ngettext": _make_new_ngettext(translations.ungettext)}


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_language,
          default_translation_directories=str(folder("translations")))
    app.jinja_env.globals.update(
        text_for=text_for, current_language=current_language,
        languages=languages, LANGUAGE_NAMES=LANGUAGE_NAMES,
    )
    app.context_processor(templates_translations)
