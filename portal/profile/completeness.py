"""How complete a contact's profile is: the share of the fields marketing
marks as wanted that hold a value, and which are still missing."""

from __future__ import annotations

from dataclasses import dataclass

from portal.config import Config
from portal.crm.base import Profile
from portal.fields import kind_of
from portal.i18n import text_for


@dataclass(frozen=True)
class Completeness:
    wanted: int
    filled: int
    missing: list[tuple[str, str]]  # (field key, label) of the wanted fields still empty

    @property
    def percent(self) -> int:
        return round(100 * self.filled / self.wanted)


def completeness(config: Config, profile: Profile) -> Completeness | None:
    """None when there is nothing to nudge about: marketing marks no field as
    wanted, or the contact filled them all. Only fields the contact can fill count."""
    wanted = [spec for spec in config.fields if spec.wanted and spec.editable and not spec.is_note]
    empty = [spec for spec in wanted
             if kind_of(spec).normalise(profile.values.get(spec.crm_field)) in (None, False)]
    if not empty:
        return None
    return Completeness(len(wanted), len(wanted) - len(empty),
                        [(spec.key, text_for(spec.label)) for spec in empty])
