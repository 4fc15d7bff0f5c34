"""What is worked out once from a configuration object (a form class, the
layout a group of contacts sees) and kept while that object serves: a new
published version is a new object, so its values are worked out again."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from portal.config.model import Config

V = TypeVar("V")


class PerConfig(Generic[V]):
    def __init__(self, most: int = 256) -> None:
        self.most = most
        self._found: dict[tuple[int, Hashable], tuple[Config, V]] = {}

    def get(self, config: Config, key: Hashable, make: Callable[[], V]) -> V:
        """The value for `config` and `key`, made by `make` the first time."""
        slot = (id(config), key)
        found = self._found.get(slot)
        if found is not None and found[0] is config:  # an id may be reused by a newer object
            return found[1]
        if len(self._found) > self.most:  # configurations published many times: start again
            self._found.clear()
        value = make()
        self._found[slot] = (config, value)
        return value
