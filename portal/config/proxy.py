"""`[proxy]`: behind a reverse proxy, e.g. https://www.example.org/preferencias/.

```toml
[proxy]
trusted_hops = 1                        # how many proxies in front set X-Forwarded-* headers
trusted_headers = ["for", "proto", "host", "port", "prefix"]   # which of them to believe
trusted_proxies = ["127.0.0.1", "::1"]  # who may send them (addresses or networks)
```"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portal.config.section import Report, Section

HEADERS = ("for", "proto", "host", "port", "prefix")
LOOPBACK = ("127.0.0.0/8", "::1")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ProxySettings:
    enabled: bool = False  # a [proxy] section is present
    trusted_hops: int = 1
    trusted_headers: frozenset[str] = frozenset(HEADERS)
    trusted_proxies: tuple[Network, ...] = tuple(ipaddress.ip_network(n) for n in LOOPBACK)

    def hops(self, header: str) -> int:
        """How many X-Forwarded-<header> values to believe."""
        return self.trusted_hops if header in self.trusted_headers else 0


def build(section: Mapping[str, Any]) -> ProxySettings:
    return ProxySettings(
        enabled=True, trusted_hops=section.get("trusted_hops", 1),
        trusted_headers=frozenset(section.get("trusted_headers", HEADERS)),
        trusted_proxies=tuple(ipaddress.ip_network(n, strict=False)
                              for n in section.get("trusted_proxies", LOOPBACK)))


def check(section: Mapping[str, Any], report: Report) -> None:
    hops = section.get("trusted_hops", 1)
    if not isinstance(hops, int) or isinstance(hops, bool) or not 0 <= hops <= 5:
        report("trusted_hops", "must be a whole number from 0 to 5")
    headers = section.get("trusted_headers", HEADERS)
    if not isinstance(headers, list | tuple) or not set(headers) <= set(HEADERS):
        report("trusted_headers", f"must list some of {', '.join(HEADERS)}")
    proxies = section.get("trusted_proxies", LOOPBACK)
    if not isinstance(proxies, list | tuple) or not all(_network(p) for p in proxies):
        report("trusted_proxies", 'must list addresses or networks, like ["127.0.0.1", "10.0.0.0/8"]')


def _network(value: object) -> bool:
    try:
        ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        return False
    return isinstance(value, str)


SECTION = Section("proxy", frozenset({"trusted_hops", "trusted_headers", "trusted_proxies"}),
                  check, build)
