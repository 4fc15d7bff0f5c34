"""Load and validate marketing's configuration file (TOML) and the environment.

Every problem is collected with its place in the file, so `flask check-config`
can list them all at once and the app can refuse to start saying why.
Secrets never live in the file: they come from the environment.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portal.crm.base import FIELD_TYPES, FieldRef, ItemRef

LANGUAGES = ("es", "eu", "en")
SECTION_KEYS = {"portal", "mail", "crm", "fields", "groups"}


class ConfigError(Exception):
    """The configuration has problems; `problems` lists each with its place."""

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = list(problems)
        super().__init__(f"{path}: " + "; ".join(self.problems))


Labels = dict[str, str]


@dataclass(frozen=True)
class Choice:
    value: str
    label: Labels


@dataclass(frozen=True)
class FieldSpec:
    key: str
    crm_field: str
    type: str
    label: Labels
    help: Labels = field(default_factory=dict)
    required: bool = False
    editable: bool = True
    max_length: int | None = None
    pattern: str | None = None
    choices: tuple[Choice, ...] = ()
    choices_from_crm: bool = False

    @property
    def ref(self) -> FieldRef:
        return FieldRef(self.crm_field, self.type)  # type: ignore[arg-type]

    @property
    def is_note(self) -> bool:
        """A textarea is free text: it becomes a CRM note, not a field value."""
        return self.type == "textarea"


@dataclass(frozen=True)
class Followup:
    """Tags to add and automations to start when an item changes."""

    tags: tuple[str, ...] = ()
    automations: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemSpec:
    key: str
    kind: str
    ref: str
    label: Labels
    description: Labels = field(default_factory=dict)
    image: str | None = None
    value: str | None = None
    on_subscribe: Followup = Followup()
    on_unsubscribe: Followup = Followup()

    @property
    def item(self) -> ItemRef:
        return ItemRef(self.kind, self.ref, self.value)


@dataclass(frozen=True)
class GroupSpec:
    key: str
    label: Labels
    description: Labels
    items: tuple[ItemSpec, ...]


@dataclass(frozen=True)
class LanguagePreference:
    """How the contact's languages are written to the CRM: a multi-value field or tags."""

    mode: str  # "field" or "tags" or "off"
    crm_field: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PortalSettings:
    name: str = "Portal"
    languages: tuple[str, ...] = LANGUAGES
    default_language: str = "es"
    demo: bool = False
    public_url: str = ""
    link_lifetime_minutes: int = 30
    session_idle_minutes: int = 30
    session_lifetime_hours: int = 12  # from sign-in, however busy the session
    link_requests_per_email_per_hour: int = 5
    link_requests_per_address_per_hour: int = 30
    last_changed_field: str = ""
    newsletter_token_field: str = ""
    newsletter_may_edit_personal_data: bool = False
    note_title: Labels = field(default_factory=dict)
    crm: str = "main"
    mirrors: tuple[str, ...] = ()
    storage_url: str = "memory://"  # shared counters; "redis://host:6379/0" for several servers
    database_url: str = ""  # the portal's own database; PORTAL_DATABASE_URL wins
    language_preference: LanguagePreference = LanguagePreference("off")


@dataclass(frozen=True)
class MailSettings:
    backends: tuple[str, ...] = ("console",)
    sender: str = "Portal <portal@localhost>"
    file_dir: str = "mail"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_security: str = "none"  # none | starttls | ssl
    smtp_timeout: float = 10.0


@dataclass(frozen=True)
class Config:
    path: Path
    portal: PortalSettings
    mail: MailSettings
    crms: Mapping[str, Mapping[str, Any]]
    fields: tuple[FieldSpec, ...]
    groups: tuple[GroupSpec, ...]
    extra: Mapping[str, Any]  # sections owned by other modules (wordpress, embed, ...)

    def field(self, key: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.key == key), None)

    def items(self) -> list[ItemSpec]:
        return [item for group in self.groups for item in group.items]

    def section(self, name: str) -> Mapping[str, Any]:
        return self.extra.get(name, {})


# Modules that own a section of the file register a checker here: it gets the
# section and a `report(where, message)` callable.
SectionChecker = Callable[[Mapping[str, Any], Callable[[str, str], None]], None]
SECTION_CHECKERS: dict[str, tuple[SectionChecker, frozenset[str]]] = {}


def register_section(name: str, checker: SectionChecker, known: Iterable[str]) -> None:
    """A section of its own module: the loader refuses keys not in `known`
    and hands the rest to `checker`."""
    SECTION_CHECKERS[name] = (checker, frozenset(known))


# --- loading -----------------------------------------------------------------


def load_config(path: Path | str) -> Config:
    """Read and validate the file; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, [f"cannot read the file: {exc.strerror}"]) from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"not valid TOML: {exc}"]) from exc
    checker = _Checker(text)
    config = checker.build(path, raw)
    if checker.problems:
        raise ConfigError(path, checker.problems)
    return config


class _Checker:
    """Builds the typed config while collecting problems with line numbers."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.problems: list[str] = []

    # where things are -----------------------------------------------------------

    def line_of(self, where: str) -> int | None:
        """Best-effort line of a dotted place such as `fields[2].type`."""
        parts = re.findall(r"[A-Za-z_][\w-]*|\[\d+\]", where)
        start = 0
        table: list[str] = []
        for part in parts:
            if part.startswith("["):
                index = int(part[1:-1])
                header = re.compile(r"^\s*\[\[\s*" + re.escape(".".join(table)) + r"\s*\]\]")
                hits = [n for n, line in enumerate(self.lines) if header.match(line) and n >= start]
                if index < len(hits):
                    start = hits[index]
            else:
                table.append(part)
                key = re.compile(r"^\s*(\[+\s*)?([\w.-]+\.)?" + re.escape(part) + r"\b")
                for n in range(start, len(self.lines)):
                    if key.match(self.lines[n]):
                        start = n
                        break
        return start + 1 if parts else None

    def report(self, where: str, message: str) -> None:
        line = self.line_of(where)
        place = f"line {line}, {where}" if line else where
        self.problems.append(f"{place}: {message}")

    # typed getters --------------------------------------------------------------

    def get(self, table: Mapping[str, Any], key: str, kind: type | tuple[type, ...],
            where: str, default: Any = None, required: bool = False) -> Any:
        if key not in table:
            if required:
                self.report(f"{where}.{key}" if where else key, "is required")
            return default
        value = table[key]
        if kind is int and isinstance(value, bool):
            self.report(f"{where}.{key}", "must be a whole number")
            return default
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.report(f"{where}.{key}" if where else key,
                        f"must be {_article(names)}, not {type(value).__name__}")
            return default
        return value

    def labels(self, table: Mapping[str, Any], key: str, where: str, languages: Sequence[str],
               required: bool = True) -> Labels:
        value = table.get(key)
        if value is None:
            if required:
                self.report(f"{where}.{key}", f"needs a text per language ({', '.join(languages)})")
            return {}
        if isinstance(value, str):
            return dict.fromkeys(languages, value)
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            self.report(f"{where}.{key}", "must be a table of texts per language, like "
                        '{ es = "…", eu = "…", en = "…" }')
            return {}
        missing = [lang for lang in languages if not value.get(lang)]
        if missing and required:
            self.report(f"{where}.{key}", f"has no text for {', '.join(missing)}")
        unknown = sorted(set(value) - set(LANGUAGES))
        if unknown:
            self.report(f"{where}.{key}", f"unknown language(s) {', '.join(unknown)}")
        return dict(value)

    # sections -------------------------------------------------------------------

    def build(self, path: Path, raw: Mapping[str, Any]) -> Config:
        portal = self.portal(raw.get("portal", {}))
        languages = portal.languages
        mail = self.mail(raw.get("mail", {}))
        crms = self.crms(raw.get("crm", {}), portal)
        fields = tuple(self.fields(raw.get("fields", []), languages))
        groups = tuple(self.groups(raw.get("groups", []), languages))
        extra = {k: v for k, v in raw.items() if k not in SECTION_KEYS}
        for name, section in extra.items():
            if name not in SECTION_CHECKERS:
                self.report(name, f"unknown section [{name}]")
                continue
            if not isinstance(section, dict):
                self.report(name, "must be a table")
                continue
            checker, known = SECTION_CHECKERS[name]
            for key in sorted(set(section) - known):
                self.report(f"{name}.{key}",
                            f"is not a setting of [{name}] (use {', '.join(sorted(known))})")
            checker({k: v for k, v in section.items() if k in known},
                    lambda where, msg, _n=name: self.report(f"{_n}.{where}", msg))
        return Config(path, portal, mail, crms, fields, groups, extra)

    def portal(self, table: Mapping[str, Any]) -> PortalSettings:
        w = "portal"
        languages = tuple(self.get(table, "languages", list, w, list(LANGUAGES)))
        bad = [lang for lang in languages if lang not in LANGUAGES]
        if bad or not languages:
            self.report(f"{w}.languages", f"must list some of {', '.join(LANGUAGES)}")
            languages = LANGUAGES
        default = self.get(table, "default_language", str, w, languages[0])
        if default not in languages:
            self.report(f"{w}.default_language", "must be one of portal.languages")
            default = languages[0]
        positive = {}
        for key, fallback in (("link_lifetime_minutes", 30), ("session_idle_minutes", 30),
                              ("session_lifetime_hours", 12),
                              ("link_requests_per_email_per_hour", 5),
                              ("link_requests_per_address_per_hour", 30)):
            value = self.get(table, key, int, w, fallback)
            if value < 1:
                self.report(f"{w}.{key}", "must be 1 or more")
                value = fallback
            positive[key] = value
        mirrors = tuple(self.get(table, "mirrors", list, w, []))
        return PortalSettings(
            name=self.get(table, "name", str, w, "Portal"),
            languages=languages,
            default_language=default,
            demo=self.get(table, "demo", bool, w, False),
            public_url=self.get(table, "public_url", str, w, "").rstrip("/"),
            last_changed_field=self.get(table, "last_changed_field", str, w, ""),
            newsletter_token_field=self.get(table, "newsletter_token_field", str, w, ""),
            newsletter_may_edit_personal_data=self.get(
                table, "newsletter_may_edit_personal_data", bool, w, False),
            note_title=self.labels(table, "note_title", w, languages, required=False),
            crm=self.get(table, "crm", str, w, "main"),
            mirrors=mirrors,
            storage_url=self.get(table, "storage_url", str, w, "memory://"),
            database_url=self.get(table, "database_url", str, w, ""),
            language_preference=self.language_preference(table.get("language_preference", {})),
            **positive,
        )

    def language_preference(self, table: Any) -> LanguagePreference:
        w = "portal.language_preference"
        if not isinstance(table, dict):
            self.report(w, "must be a table")
            return LanguagePreference("off")
        mode = self.get(table, "mode", str, w, "off")
        if mode not in ("off", "field", "tags"):
            self.report(f"{w}.mode", 'must be "field", "tags" or "off"')
            return LanguagePreference("off")
        field_name = self.get(table, "field", str, w, "", required=mode == "field")
        tags = self.get(table, "tags", dict, w, {})
        if mode == "tags":
            missing = [lang for lang in LANGUAGES if not tags.get(lang)]
            if missing:
                self.report(f"{w}.tags", f"needs a tag for {', '.join(missing)}")
        return LanguagePreference(mode, field_name, dict(tags))

    def mail(self, table: Mapping[str, Any]) -> MailSettings:
        w = "mail"
        backends = tuple(self.get(table, "backends", list, w, ["console"]))
        for backend in backends:
            if backend not in ("console", "file", "smtp"):
                self.report(f"{w}.backends", f'unknown backend "{backend}" '
                            '(use "console", "file" or "smtp")')
        security = self.get(table, "smtp_security", str, w, "none")
        if security not in ("none", "starttls", "ssl"):
            self.report(f"{w}.smtp_security", 'must be "none", "starttls" or "ssl"')
        return MailSettings(
            backends=backends,
            sender=self.get(table, "from", str, w, "Portal <portal@localhost>"),
            file_dir=self.get(table, "file_dir", str, w, "mail"),
            smtp_host=self.get(table, "smtp_host", str, w, "localhost"),
            smtp_port=self.get(table, "smtp_port", int, w, 25),
            smtp_security=security,
            smtp_timeout=float(self.get(table, "smtp_timeout", (int, float), w, 10.0)),
        )

    def crms(self, table: Any, portal: PortalSettings) -> dict[str, Mapping[str, Any]]:
        from portal.crm import ADAPTERS

        if not isinstance(table, dict) or not table:
            self.report("crm", "needs at least one [crm.NAME] block with a type")
            return {}
        crms: dict[str, Mapping[str, Any]] = {}
        for name, block in table.items():
            if not isinstance(block, dict):
                self.report(f"crm.{name}", "must be a table")
                continue
            kind = block.get("type")
            if kind not in ADAPTERS:
                self.report(f"crm.{name}.type", f"must be one of {', '.join(sorted(ADAPTERS))}")
            crms[name] = block
        for name in (portal.crm, *portal.mirrors):
            if name not in crms:
                self.report("portal.crm" if name == portal.crm else "portal.mirrors",
                            f'names a CRM "{name}" with no [crm.{name}] block')
        if portal.crm in portal.mirrors:
            self.report("portal.mirrors", "must not include the main CRM")
        return crms

    def fields(self, entries: Any, languages: Sequence[str]) -> list[FieldSpec]:
        if not isinstance(entries, list):
            self.report("fields", "must be a list of [[fields]] blocks")
            return []
        specs: list[FieldSpec] = []
        seen: set[str] = set()
        for n, table in enumerate(entries):
            w = f"fields[{n}]"
            key = self.get(table, "key", str, w, f"field{n}", required=True)
            if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
                self.report(f"{w}.key", "must be lower-case letters, digits and _")
            if key in seen:
                self.report(f"{w}.key", f'"{key}" is used twice')
            seen.add(key)
            kind = self.get(table, "type", str, w, "text", required=True)
            if kind not in FIELD_TYPES:
                self.report(f"{w}.type", f'"{kind}" is not one of {", ".join(FIELD_TYPES)}')
                kind = "text"
            pattern = self.get(table, "pattern", str, w, None)
            if pattern:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    self.report(f"{w}.pattern", f"is not a valid regular expression: {exc}")
                    pattern = None
            choices = tuple(self.choices(table.get("choices", []), f"{w}.choices", languages))
            from_crm = self.get(table, "choices_from_crm", bool, w, False)
            if kind in ("select", "multiselect") and not choices and not from_crm:
                self.report(w, "a select needs choices, or choices_from_crm = true")
            max_length = self.get(table, "max_length", int, w, None)
            if max_length is not None and max_length < 1:
                self.report(f"{w}.max_length", "must be 1 or more")
            specs.append(FieldSpec(
                key=key,
                crm_field=self.get(table, "crm_field", str, w, key),
                type=kind,
                label=self.labels(table, "label", w, languages),
                help=self.labels(table, "help", w, languages, required=False),
                required=self.get(table, "required", bool, w, False),
                editable=self.get(table, "editable", bool, w, True),
                max_length=max_length,
                pattern=pattern,
                choices=choices,
                choices_from_crm=from_crm,
            ))
        return specs

    def choices(self, entries: Any, where: str, languages: Sequence[str]) -> list[Choice]:
        if not isinstance(entries, list):
            self.report(where, "must be a list")
            return []
        out = []
        for n, entry in enumerate(entries):
            w = f"{where}[{n}]"
            if isinstance(entry, str):
                out.append(Choice(entry, dict.fromkeys(languages, entry)))
                continue
            if not isinstance(entry, dict):
                self.report(w, "must be a text or a table with value and label")
                continue
            value = self.get(entry, "value", str, w, "", required=True)
            out.append(Choice(value, self.labels(entry, "label", w, languages)))
        return out

    def groups(self, entries: Any, languages: Sequence[str]) -> list[GroupSpec]:
        if not isinstance(entries, list):
            self.report("groups", "must be a list of [[groups]] blocks")
            return []
        groups: list[GroupSpec] = []
        seen: set[str] = set()
        for n, table in enumerate(entries):
            w = f"groups[{n}]"
            items = []
            for m, entry in enumerate(table.get("items", [])):
                iw = f"{w}.items[{m}]"
                key = self.get(entry, "key", str, iw, f"item{n}_{m}", required=True)
                if key in seen:
                    self.report(f"{iw}.key", f'"{key}" is used twice')
                seen.add(key)
                image = self.get(entry, "image", str, iw, None)
                items.append(ItemSpec(
                    key=key,
                    kind=self.get(entry, "kind", str, iw, "list", required=True),
                    ref=str(self.get(entry, "ref", (str, int), iw, "", required=True)),
                    value=self.get(entry, "value", str, iw, None),
                    label=self.labels(entry, "label", iw, languages),
                    description=self.labels(entry, "description", iw, languages, required=False),
                    image=image,
                    on_subscribe=self.followup(entry.get("on_subscribe", {}),
                                               f"{iw}.on_subscribe"),
                    on_unsubscribe=self.followup(entry.get("on_unsubscribe", {}),
                                                 f"{iw}.on_unsubscribe"),
                ))
            if not items:
                self.report(w, "a group needs at least one [[groups.items]]")
            groups.append(GroupSpec(
                key=self.get(table, "key", str, w, f"group{n}", required=True),
                label=self.labels(table, "label", w, languages),
                description=self.labels(table, "description", w, languages, required=False),
                items=tuple(items),
            ))
        return groups

    def followup(self, table: Any, where: str) -> Followup:
        if not isinstance(table, dict):
            self.report(where, "must be a table with tags and/or automations")
            return Followup()
        tags = self.get(table, "tags", list, where, [])
        automations = self.get(table, "automations", list, where, [])
        return Followup(tuple(map(str, tags)), tuple(map(str, automations)))


def _article(noun: str) -> str:
    names = {"str": "a text", "int": "a whole number", "bool": "true or false", "list": "a list",
             "dict": "a table", "float": "a number"}
    return " or ".join(names.get(part, part) for part in noun.split(" or "))
