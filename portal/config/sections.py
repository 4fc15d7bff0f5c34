"""The optional sections of the configuration file, one module each."""

from __future__ import annotations

from typing import Any

from portal.config import embed, proxy, register, resilience, rights, staff, theme, wordpress
from portal.config.section import Section

SECTIONS: tuple[Section[Any], ...] = (
    embed.SECTION, proxy.SECTION, theme.SECTION, resilience.SECTION, wordpress.SECTION,
    staff.SECTION,
    rights.SECTION, register.SECTION)
BY_NAME = {section.name: section for section in SECTIONS}
