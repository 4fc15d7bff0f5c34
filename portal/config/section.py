"""What every optional section of the file ([embed], [proxy], ...) provides:
the keys it knows, a check that reports problems, and a builder of its
typed settings (run only on a section that passed its check)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

# report(where inside the section, message)
Report = Callable[[str, str], None]
T = TypeVar("T")


@dataclass(frozen=True)
class Section(Generic[T]):
    name: str
    keys: frozenset[str]
    check: Callable[[Mapping[str, Any], Report], None]
    build: Callable[[Mapping[str, Any]], T]
