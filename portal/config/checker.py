"""Collecting configuration problems with their place in the file.

Every reader of a part of the file gets a Checker: typed getters that report
a wrong type instead of failing, and `report(where, message)`, which finds
the line of a dotted place such as `fields[2].type`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from portal.config.model import LANGUAGES, Labels
from portal.config.text import N_, Text


class Checker:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.problems: list[str] = []
        self.found: list[tuple[str, str]] = []  # (place, message): for the workspace

    def line_of(self, where: str) -> int | None:
        """Best-effort line of a dotted place such as `fields[2].type`."""
        parts = re.findall(r"[A-Za-z_][\w-]*|\[\d+\]", where)
        start = 0
        table: list[str] = []
        for part in parts:
            if part.startswith("["):
                start = self._nth_table(".".join(table), int(part[1:-1]), start)
            else:
                table.append(part)
                start = self._next_key(part, start)
        return start + 1 if parts else None

    def _nth_table(self, name: str, index: int, start: int) -> int:
        header = re.compile(r"^\s*\[\[\s*" + re.escape(name) + r"\s*\]\]")
        hits = [n for n, line in enumerate(self.lines) if header.match(line) and n >= start]
        return hits[index] if index < len(hits) else start

    def _next_key(self, part: str, start: int) -> int:
        key = re.compile(r"^\s*(\[+\s*)?([\w.-]+\.)?" + re.escape(part) + r"\b")
        return next((n for n in range(start, len(self.lines)) if key.match(self.lines[n])), start)

    def report(self, where: str, message: str) -> None:
        line = self.line_of(where)
        place = f"line {line}, {where}" if line else where
        self.problems.append(f"{place}: {message}")
        self.found.append((where, message))

    def get(self, table: Mapping[str, Any], key: str, kind: type | tuple[type, ...],
            where: str, default: Any = None, required: bool = False) -> Any:
        """table[key] if it has the right type; else report it and return `default`."""
        place = f"{where}.{key}" if where else key
        if key not in table:
            if required:
                self.report(place, Text(N_("is required")))
            return default
        value = table[key]
        if kind is int and isinstance(value, bool):
            self.report(place, "must be a whole number")
            return default
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.report(place, f"must be {_article(names)}, not {type(value).__name__}")
            return default
        return value

    def labels(self, table: Mapping[str, Any], key: str, where: str, languages: Sequence[str],
               required: bool = True) -> Labels:
        """A text per language: `{ es = "…", eu = "…" }`, or one text for all."""
        value = table.get(key)
        if value is None:
            if required:
                self.report(f"{where}.{key}", Text(N_("needs a text per language (%(languages)s)"),
                                                   languages=", ".join(languages)))
            return {}
        if isinstance(value, str):
            return dict.fromkeys(languages, value)
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            self.report(f"{where}.{key}", "must be a table of texts per language, like "
                        '{ es = "…", eu = "…", en = "…" }')
            return {}
        missing = [lang for lang in languages if not value.get(lang)]
        if missing and required:
            self.report(f"{where}.{key}", Text(N_("has no text for %(languages)s"),
                                               languages=", ".join(missing)))
        unknown = sorted(set(value) - set(LANGUAGES))
        if unknown:
            self.report(f"{where}.{key}", f"unknown language(s) {', '.join(unknown)}")
        return dict(value)


def _article(noun: str) -> str:
    names = {"str": "a text", "int": "a whole number", "bool": "true or false", "list": "a list",
             "dict": "a table", "float": "a number"}
    return " or ".join(names.get(part, part) for part in noun.split(" or "))
