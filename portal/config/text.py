"""Messages of the configuration's checks that the marketing workspace shows
in the staff member's language, while `check-config` and `doctor` print them
in English.

`Text` is the English text itself (a str, so every caller that prints,
joins or searches it is unchanged) and remembers its message id and values,
which the workspace hands to gettext. `N_` marks a message id for the
catalogs (scripts/i18n.py extracts it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def N_(msgid: str) -> str:
    """Mark `msgid` for translation where it is shown, not here."""
    return msgid


class Text(str):
    """An English message that can be shown in another language later."""

    msgid: str
    values: dict[str, Any]

    def __new__(cls, msgid: str, **values: Any) -> Text:
        made = super().__new__(cls, msgid % values if values else msgid)
        made.msgid = msgid
        made.values = values
        return made

    def translated(self, gettext: Callable[..., str]) -> str:
        return gettext(self.msgid, **self.values)


def translated(message: str, gettext: Callable[..., str]) -> str:
    """`message` in the language `gettext` speaks, where it is a Text."""
    return message.translated(gettext) if isinstance(message, Text) else message
