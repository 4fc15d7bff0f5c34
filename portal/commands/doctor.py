"""`portal doctor`: for each configured CRM, the network path (DNS, TCP,
TLS), the credentials and permissions, and that every configured field and
item exists in the CRM with a compatible type; then the Redis the portal is
given, if any, and what losing it would mean. Each failure says what to do."""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

import click
from flask.cli import with_appcontext

from portal.commands.adapters import configured, configured_adapter
from portal.config import Config
from portal.config.compatibility import Finding, check_catalog
from portal.crm.base import BACKGROUND, CrmAuthError, CrmConfigError, CrmError, calls_under
from portal.delivery.request_window import names_redis

NETWORK_TIMEOUT = 5.0


@click.command("doctor")
@click.option("--crm", "crm_name", default=None, help="Check only this [crm.NAME].")
@with_appcontext
def doctor_command(crm_name: str | None) -> None:
    """Check network, credentials, permissions and configured fields for each CRM."""
    config = configured()
    names = [crm_name] if crm_name else list(config.crms)
    failed = False
    for name in names:
        kind = config.crms.get(name, {}).get("type", "?")
        click.echo(f'CRM "{name}" ({kind})')
        with calls_under(BACKGROUND):  # waits for the CRM's budget rather than fail
            failed |= _report(check_crm(name, config))
    for url, uses in redis_uses(config).items():
        click.echo(f"Redis {_without_password(url)} ({', '.join(uses)})")
        failed |= _report(check_redis(url))
    if failed:
        raise SystemExit(1)
    click.echo("Everything checked is fine.")


def _report(findings: list[Finding]) -> bool:
    """Print the findings; whether any failed."""
    for finding in findings:
        click.echo(f"  {'ok  ' if finding.ok else 'FAIL'}  {finding.what}")
        if finding.fix:
            click.echo(f"        -> {finding.fix}")
    return not all(f.ok for f in findings)


LOSING_REDIS = ("Losing this Redis loses nothing a contact saved: changes on their way to "
                "the CRM are kept in the portal's database, and a sweep wakes them again "
                "within sweep_after_seconds; cached profiles are read from the CRM again "
                "and request counts start afresh. No persistence (appendonly) is needed.")


def redis_uses(config: Config) -> dict[str, list[str]]:
    """Each Redis URL the configuration names, with what the portal keeps there."""
    uses: dict[str, list[str]] = {}
    settings = config.resilience
    if settings.queue == "redis":
        uses.setdefault(settings.redis, []).append("queue wake-ups")
    if settings.cache == "redis":
        uses.setdefault(settings.redis, []).append("profile cache")
    if names_redis(config.portal.storage_url):
        uses.setdefault(config.portal.storage_url, []).append("request counters")
    return uses


def check_redis(url: str) -> list[Finding]:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=NETWORK_TIMEOUT,
                                      socket_connect_timeout=NETWORK_TIMEOUT)
        version = client.info("server").get("redis_version", "?")
    except redis.RedisError as exc:
        return [Finding(False, f"no answer: {exc}",
                        "start Redis or fix redis_url (PORTAL_REDIS_URL) / storage_url. Until "
                        "it answers, saves wait in the database for a sweep and pages miss "
                        "the cache. " + LOSING_REDIS)]
    return [Finding(True, f"answers (Redis {version})", LOSING_REDIS)]


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=user + netloc).geturl()


def check_crm(name: str, config: Config) -> list[Finding]:
    try:
        adapter = configured_adapter(name, config)
    except (CrmConfigError, click.ClickException) as exc:
        return [Finding(False, "configuration", _message(exc))]
    findings: list[Finding] = []
    for url in adapter.endpoints():
        network = check_network(url)
        findings += network
        if not all(f.ok for f in network):
            return findings  # no point asking a CRM we cannot reach
    try:
        adapter.check_access()
    except CrmAuthError as exc:
        return [*findings, Finding(False, "credentials and permissions", str(exc))]
    except CrmError as exc:
        return [*findings, Finding(False, "credentials and permissions",
                                   f"{exc} Try again later; if it persists, check base_url.")]
    findings.append(Finding(True, "credentials and permissions"))
    if name == config.portal.crm or name in config.portal.mirrors:
        try:
            findings += check_catalog(adapter, config)
        except CrmError as exc:
            findings.append(Finding(False, "reading the CRM's fields and lists", str(exc)))
    return findings


def check_network(url: str) -> list[Finding]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = sorted({str(a[4][0]) for a in socket.getaddrinfo(host, port,
                                                                   type=socket.SOCK_STREAM)})
    except socket.gaierror:
        return [Finding(False, f"DNS: {host} does not resolve",
                        f"check the host in base_url for typos; if it is right, this server cannot "
                        f"look up public names: ask the hosting to allow DNS for {host}.")]
    found = [Finding(True, f"DNS: {host} is {', '.join(addresses[:3])}")]
    try:
        with socket.create_connection((host, port), timeout=NETWORK_TIMEOUT) as sock:
            found.append(Finding(True, f"TCP: connected to {host}:{port}"))
            if parts.scheme == "https":
                found.append(_tls(sock, host))
    except TimeoutError:
        found.append(Finding(False, f"TCP: no answer from {host}:{port} within {NETWORK_TIMEOUT:g} s",
                             f"the hosting probably blocks outbound connections: ask for "
                             f"{host}:{port} to be allowed."))
    except OSError as exc:
        found.append(Finding(False, f"TCP: cannot connect to {host}:{port} ({exc.strerror or exc})",
                             f"if the CRM is up, the hosting or a firewall blocks outbound "
                             f"connections: ask for {host}:{port} to be allowed."))
    return found


def _tls(sock: socket.socket, host: str) -> Finding:
    try:
        context = ssl.create_default_context()
        with context.wrap_socket(sock, server_hostname=host) as secure:
            return Finding(True, f"TLS: {secure.version()}, certificate valid for {host}")
    except ssl.SSLCertVerificationError as exc:
        return Finding(False, f"TLS: the certificate of {host} is not trusted ({exc.verify_message})",
                       "a proxy may be intercepting HTTPS, or the server's CA certificates are "
                       "out of date: update the ca-certificates package or ask the hosting.")
    except (ssl.SSLError, OSError) as exc:
        return Finding(False, f"TLS: handshake with {host} failed ({exc})",
                       "something between this server and the CRM interferes with HTTPS: "
                       "ask the hosting about outbound proxies.")


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, click.ClickException) else str(exc)
