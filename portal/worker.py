"""The entry point of separate queue workers:
`PORTAL_CONFIG=... huey_consumer portal.worker.huey -w 2 -m 1`.

It builds the app (PORTAL_CONFIG, PORTAL_INSTANCE) and hands its queue's
Huey to the consumer."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Built on first use, so importing this module costs nothing.
    if name == "huey":
        from portal import create_app
        from portal.delivery import delivery

        return delivery(create_app()).queue.huey
    raise AttributeError(name)
