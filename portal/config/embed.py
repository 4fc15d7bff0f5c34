"""`[embed]`: iframe mode.

```toml
[embed]
frame_ancestors = ["https://www.example.org"]    # origins allowed to frame the portal
landing_url = "https://www.example.org/preferencias/"  # the page holding the frame
post_height = true                                # tell the parent page our height
```

Without `frame_ancestors` the portal forbids framing altogether."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portal.config.section import Report, Section
from portal.config.urls import url_problem

ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


@dataclass(frozen=True)
class EmbedSettings:
    frame_ancestors: tuple[str, ...] = ()
    landing_url: str = ""
    post_height: bool = True

    @property
    def framed(self) -> bool:
        return bool(self.frame_ancestors)


def build(section: Mapping[str, Any]) -> EmbedSettings:
    return EmbedSettings(
        frame_ancestors=tuple(o.rstrip("/") for o in section.get("frame_ancestors", [])),
        landing_url=section.get("landing_url", ""),
        post_height=section.get("post_height", True),
    )


def check(section: Mapping[str, Any], report: Report) -> None:
    origins = section.get("frame_ancestors", [])
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        report("frame_ancestors", 'must be a list of origins like ["https://www.example.org"]')
    else:
        for origin in origins:
            if not ORIGIN.match(origin.rstrip("/")):
                report("frame_ancestors", f'"{origin}" is not an origin (scheme://host[:port], '
                       "no path)")
    landing = section.get("landing_url", "")
    problem = url_problem(landing) if landing != "" else ""
    if problem:
        report("landing_url", f"{problem} (the page that holds the frame)")
    elif landing and not origins:
        report("landing_url", "needs frame_ancestors: the page that holds the frame must be "
               "allowed to frame the portal")
    if not isinstance(section.get("post_height", True), bool):
        report("post_height", "must be true or false")


SECTION = Section("embed", frozenset({"frame_ancestors", "landing_url", "post_height"}), check, build)
