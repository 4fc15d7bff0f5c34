"""Behind a reverse proxy, e.g. https://www.example.org/preferencias/.

```toml
[proxy]
trusted_hops = 1          # how many proxies in front of us set X-Forwarded-* headers
```

The proxy sends X-Forwarded-For, -Proto, -Host, -Port and -Prefix; werkzeug's
ProxyFix turns them into the request's scheme, host and script root, so every
url_for (links, redirects, form actions, assets, email links) carries them.
Only the configured number of hops is believed: a client cannot forge them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.settings import register_section


def check_section(section: Mapping[str, Any], report: Callable[[str, str], None]) -> None:
    hops = section.get("trusted_hops", 1)
    if not isinstance(hops, int) or isinstance(hops, bool) or not 0 <= hops <= 5:
        report("trusted_hops", "must be a whole number from 0 to 5")


register_section("proxy", check_section, ("trusted_hops",))


def init_app(app: Flask) -> None:
    section = app.config["PORTAL"].section("proxy")
    if not section:
        return
    hops = section.get("trusted_hops", 1)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops,  # type: ignore[method-assign]
                                x_host=hops, x_port=hops, x_prefix=hops)
