"""`[proxy]`: behind a reverse proxy, e.g. https://www.example.org/preferencias/.

```toml
[proxy]
trusted_hops = 1          # how many proxies in front of us set X-Forwarded-* headers
```"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portal.config.section import Report, Section


@dataclass(frozen=True)
class ProxySettings:
    enabled: bool = False  # a [proxy] section is present
    trusted_hops: int = 1


def build(section: Mapping[str, Any]) -> ProxySettings:
    return ProxySettings(enabled=True, trusted_hops=section.get("trusted_hops", 1))


def check(section: Mapping[str, Any], report: Report) -> None:
    hops = section.get("trusted_hops", 1)
    if not isinstance(hops, int) or isinstance(hops, bool) or not 0 <= hops <= 5:
        report("trusted_hops", "must be a whole number from 0 to 5")


SECTION = Section("proxy", frozenset({"trusted_hops"}), check, build)
