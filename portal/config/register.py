"""`[register]`: an unknown address may become a contact.

```toml
[register]
enabled = true
legal = { es = "…", eu = "…", en = "…" }   # shown above the form, with the privacy link
fields = ["first_name", "last_name"]        # keys of [[fields]] the form asks for
tags = ["registered"]                       # added to every contact made this way
```

An address that is not a contact's, asking for a sign-in link, is emailed a
link to the register page instead (the answer on the page stays the same
for everyone). The link proves the address: double opt-in by construction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from portal.config.section import Report, Section

LANGUAGES = ("es", "eu", "en")


@dataclass(frozen=True)
class RegisterSettings:
    enabled: bool = False
    legal: Mapping[str, str] = field(default_factory=dict)  # per language
    fields: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


def check(section: Mapping[str, Any], report: Report) -> None:
    enabled = section.get("enabled", False)
    if not isinstance(enabled, bool):
        report("enabled", "must be true or false")
    legal = section.get("legal", {})
    if isinstance(legal, str):
        legal = dict.fromkeys(LANGUAGES, legal)
    if not isinstance(legal, dict) or not all(isinstance(v, str) for v in legal.values()):
        report("legal", 'must be a text per language, like { es = "…", eu = "…", en = "…" }')
    elif sorted(set(legal) - set(LANGUAGES)):
        report("legal", f"unknown language(s) {', '.join(sorted(set(legal) - set(LANGUAGES)))}")
    elif enabled is True and not all(legal.get(lang, "").strip() for lang in LANGUAGES):
        report("legal", "needs the legal text in es, eu and en: people register only after "
               "reading it")
    for key in ("fields", "tags"):
        value = section.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            report(key, "must be a list of names")


def build(section: Mapping[str, Any]) -> RegisterSettings:
    legal = section.get("legal", {})
    return RegisterSettings(
        enabled=section.get("enabled", False),
        legal=dict.fromkeys(LANGUAGES, legal) if isinstance(legal, str) else dict(legal),
        fields=tuple(section.get("fields", ())),
        tags=tuple(section.get("tags", ())),
    )


SECTION = Section("register", frozenset(f.name for f in fields(RegisterSettings)), check, build)
