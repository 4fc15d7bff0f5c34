"""What a change does to a contact, in marketing's terms: the fields whose
values change, the items joined and left, the languages, an unsubscribe
from all. Read from the profile before the change and the profile the change
makes of it, so that every door's change is summed up the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from portal.config import Config, FieldSpec, ItemSpec
from portal.crm.base import Change, Profile, Value
from portal.delivery.cache import applied
from portal.delivery.reader import contact_languages
from portal.fields import kind_of

# How a field's value reads to the contact (the pages know the choices' labels).
ShowValue = Callable[[FieldSpec, Value], str]


def plain_value(spec: FieldSpec, value: Value) -> str:
    return kind_of(spec).show(value, {})


@dataclass(frozen=True)
class Summary:
    fields: tuple[tuple[FieldSpec, Value, Value], ...] = ()
    joined: tuple[ItemSpec, ...] = ()
    left: tuple[ItemSpec, ...] = ()
    languages: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    unsubscribed_all: bool = False

    def is_empty(self) -> bool:
        return not (self.fields or self.joined or self.left or self.languages
                    or self.unsubscribed_all)

    @property
    def field_keys(self) -> list[str]:
        return [spec.key for spec, _old, _new in self.fields]


def summarise(config: Config, before: Profile, change: Change) -> Summary:
    after = applied(before, change)
    fields = []
    for spec in config.fields:
        if spec.is_note:
            continue
        kind = kind_of(spec)
        old = kind.normalise(before.values.get(spec.crm_field))
        new = kind.normalise(after.values.get(spec.crm_field))
        if old != new:
            fields.append((spec, old, new))
    items = config.items()
    joined = tuple(i for i in items if i.item in after.subscribed and i.item not in before.subscribed)
    left = tuple(i for i in items if i.item in before.subscribed and i.item not in after.subscribed)
    old_languages = tuple(contact_languages(config, before))
    new_languages = tuple(contact_languages(config, after))
    return Summary(tuple(fields), joined, left,
                   (old_languages, new_languages) if old_languages != new_languages else None,
                   bool(change.unsubscribe_all) and not before.opted_out_all)
