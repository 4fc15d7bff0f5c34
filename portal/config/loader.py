"""Load and validate the configuration file (TOML) and the environment.

Every problem is collected with its place in the file, so `check-config`
can list them all at once and the app can refuse to start saying why.
Secrets never live in the file: they come from the environment.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from portal.config.checker import Checker
from portal.config.compatibility import long_tag_names
from portal.config.core import read_crms, read_mail, read_portal, refuse_unknown
from portal.config.layout import LAYOUT_KEYS, read_layout
from portal.config.model import Config
from portal.config.sections import BY_NAME
from portal.crm import tag_name_limit

CORE_SECTIONS = {"portal", "mail", "crm", *LAYOUT_KEYS}


class ConfigError(Exception):
    """The configuration has problems; `problems` lists each with its place."""

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = list(problems)
        super().__init__(f"{path}: " + "; ".join(self.problems))


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
    checker = Checker(text)
    config = build(checker, path, raw)
    if checker.problems:
        raise ConfigError(path, checker.problems)
    return config


def build(c: Checker, path: Path, raw: Mapping[str, Any]) -> Config:
    portal = read_portal(c, raw.get("portal", {}))
    layout = read_layout(c, raw, portal.languages)
    config = Config(
        path=path, portal=portal, mail=read_mail(c, raw.get("mail", {})),
        crms=read_crms(c, raw.get("crm", {}), portal),
        fields=layout.fields, groups=layout.groups, page=layout.page,
    )
    built = {name: read_section(c, name, table) for name, table in raw.items()
             if name not in CORE_SECTIONS}
    sections = {name: value for name, value in built.items() if value is not None}
    config = replace(config, **sections)
    crms = (config.portal.crm, *config.portal.mirrors)
    for where, problem in long_tag_names(config, {name: tag_name_limit(config.crms[name])
                                                  for name in crms if name in config.crms}):
        c.report(where, problem)
    check_register_fields(c, config)
    if config.wordpress is not None and not config.wordpress.site_name:
        config = replace(config, wordpress=replace(config.wordpress, site_name=portal.name))
    return config


def check_register_fields(c: Checker, config: Config) -> None:
    """`[register] fields` names fields the layout has, other than the address."""
    for key in config.register.fields:
        spec = config.field(key)
        if spec is None:
            c.report("register.fields", f'names "{key}", which is not the key of a [[fields]] block')
        elif spec.type == "email":
            c.report("register.fields", f'must not list "{key}": the register link proved the '
                     "address")


def read_section(c: Checker, name: str, table: Any) -> Any:
    """The typed settings of an optional section, or None when it has problems."""
    section = BY_NAME.get(name)
    if section is None:
        c.report(name, f"unknown section [{name}]")
        return None
    if not isinstance(table, dict):
        c.report(name, "must be a table")
        return None
    before = len(c.problems)
    refuse_unknown(c, table, name, section.keys)
    known = {k: v for k, v in table.items() if k in section.keys}
    section.check(known, lambda where, message: c.report(f"{name}.{where}", message))
    return section.build(known) if len(c.problems) == before else None
