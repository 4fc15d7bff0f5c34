"""The published layout, as contacts' pages read it: each process keeps
the configuration with the newest version applied and asks the database at
most every CHECK_EVERY seconds whether a newer one exists (one small query:
the highest version id). A version published on any machine is served by
every worker within those seconds, without a restart; between checks a page
costs no database query at all."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.exc import SQLAlchemyError

from portal.config import Config
from portal.staff.document import applied, check
from portal.staff.store import LayoutStore

log = logging.getLogger(__name__)
CHECK_EVERY = 2.0  # seconds


class PublishedLayout:
    def __init__(self, store: LayoutStore, base: Config, check_every: float = CHECK_EVERY) -> None:
        self.store = store
        self.base = base  # the file's configuration: infrastructure, and the seed
        self.check_every = check_every
        self.version: int | None = None
        self.config = base
        self._next_check = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> Config:
        if time.monotonic() < self._next_check:
            return self.config
        with self._lock:
            if time.monotonic() >= self._next_check:
                self._refresh()
                self._next_check = time.monotonic() + self.check_every
        return self.config

    def expire(self) -> None:
        """Look for a newer version at the next page (this process has just published one)."""
        self._next_check = 0.0

    def _refresh(self) -> None:
        try:
            newest = self.store.newest_id()
            if newest is None or newest == self.version:
                return
            version = self.store.version(newest)
        except SQLAlchemyError as exc:
            # Contacts keep the layout they had: the database may be back at the next check.
            log.warning("Could not check for a newer published layout: %s", exc)
            return
        if version is None:
            return
        layout, problems = check(version.document, self.base.portal.languages)
        if problems:
            log.warning("Published layout version %d has problems under this version of the "
                        "portal: %s", version.id, "; ".join(f"{w}: {m}" for w, m in problems))
        self.config = applied(self.base, layout)
        self.version = version.id
