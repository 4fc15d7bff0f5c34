"""What a request may say about where it came from.

Behind a reverse proxy (https://www.example.org/preferencias/) the proxy
sends X-Forwarded-For, -Proto, -Host, -Port and -Prefix. They are believed
only from the configured proxies' addresses, only the configured headers,
only for the configured number of hops (werkzeug's ProxyFix), and a prefix
must be a plain path. With `public_url` the scheme and the prefix come from
it, whatever a header says. The Host a request names must be the public
one (Flask's TRUSTED_HOSTS: 400 for any other); the demo answers only on
this machine's own names."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.config import Config
from portal.config.proxy import HEADERS, Network, ProxySettings

PLAIN_PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]+)*$")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
             "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ForwardedHeaders:
    """Drops the X-Forwarded-* headers of anyone but a trusted proxy, then lets
    ProxyFix believe the configured ones for the configured hops."""

    def __init__(self, app: WsgiApp, proxy: ProxySettings, public_url: str) -> None:
        hops = {name: proxy.hops(name) if proxy.enabled else 0 for name in HEADERS}
        self.proxies = proxy.trusted_proxies if proxy.enabled else ()
        self.fixed = ProxyFix(PublicAddress(app, public_url),
                              x_for=hops["for"], x_proto=hops["proto"], x_host=hops["host"],
                              x_port=hops["port"], x_prefix=hops["prefix"])

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not _from(environ.get("REMOTE_ADDR", ""), self.proxies):
            for name in FORWARDED:
                environ.pop(name, None)
        return self.fixed(environ, start_response)


class PublicAddress:
    """With `public_url`, the scheme and the prefix are the public address's;
    without, a forwarded prefix must be a plain path."""

    def __init__(self, app: WsgiApp, public_url: str) -> None:
        self.app = app
        public = urlsplit(public_url) if public_url else None
        self.scheme = public.scheme if public else ""
        self.prefix = public.path.rstrip("/") if public else None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.prefix is not None:
            environ["SCRIPT_NAME"] = self.prefix
            environ["wsgi.url_scheme"] = self.scheme
        elif not PLAIN_PREFIX.match(environ.get("SCRIPT_NAME", "")):
            refused: Iterable[bytes] = BadRequest("The forwarded prefix is not a plain path.")(
                environ, start_response)
            return refused
        return self.app(environ, start_response)


def _from(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        peer = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(peer in network for network in proxies)


def trusted_hosts(config: Config) -> list[str]:
    """The Host names a request may carry: the public one, and in the demo
    this machine's own."""
    hosts = [urlsplit(config.portal.public_url).netloc] if config.portal.public_url else []
    return hosts + list(LOOPBACK_HOSTS) if config.portal.demo else hosts


def init_app(app: Flask) -> None:
    config: Config = app.config["PORTAL"]
    app.config["TRUSTED_HOSTS"] = trusted_hosts(config)
    app.wsgi_app = ForwardedHeaders(  # type: ignore[method-assign]
        app.wsgi_app, config.proxy, config.portal.public_url)
