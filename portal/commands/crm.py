"""`flask fields` and `flask doctor`: the tools for the people who set up a CRM.

`flask fields` lists what the configured CRM offers (fields with their types
and choices, lists or segments, tags, automations) and can print a starter
configuration for the ones marketing picks. `flask doctor` checks, for each
configured CRM, the network path (DNS, TCP, TLS), the credentials and
permissions, and that every configured field and item exists in the CRM with
a compatible type; each failure says what to do.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.config import Config, load_config
from portal.crm import build_adapter
from portal.crm.base import Catalog, CrmAdapter, CrmAuthError, CrmConfigError, CrmError, CrmFieldInfo
from portal.fields import compatible
from portal.shipped import DEFAULT_CONFIG

NETWORK_TIMEOUT = 5.0
LANGS = ("es", "eu", "en")


# --- shared --------------------------------------------------------------------


def configured() -> Config:
    """The app's configuration, or the file's when the app could not load."""
    config = current_app.config.get("PORTAL")
    if config is None:
        config = load_config(os.environ.get("PORTAL_CONFIG") or DEFAULT_CONFIG)
    return config


def configured_adapter(name: str, config: Config) -> CrmAdapter:
    """The adapter of `[crm.NAME]`, or a command-line error that says what is wrong."""
    if name not in config.crms:
        known = ", ".join(sorted(config.crms)) or "none"
        raise click.ClickException(f"No [crm.{name}] in the configuration (there is: {known}).")
    try:
        return build_adapter(name, config.crms[name], Path(current_app.instance_path))
    except CrmError as exc:
        raise click.ClickException(str(exc)) from exc


def _automations(adapter: CrmAdapter) -> list[tuple[str, str]]:
    listing = getattr(adapter, "automations", None)
    return list(listing()) if callable(listing) else []


# --- flask fields ----------------------------------------------------------------


@click.command("fields")
@click.option("--crm", "crm_name", default=None, help="Which [crm.NAME] (default: the main CRM).")
@click.option("--starter", is_flag=True, help="Print a starter configuration instead of the list.")
@click.option("--pick", multiple=True, metavar="KEY",
              help="With --starter: only these field keys or item refs (repeat it).")
@with_appcontext
def fields_command(crm_name: str | None, starter: bool, pick: tuple[str, ...]) -> None:
    """List the fields, lists/segments, tags and automations the CRM offers."""
    config = configured()
    adapter = configured_adapter(crm_name or config.portal.crm, config)
    try:
        catalog = adapter.describe()
        automations = _automations(adapter)
    except CrmError as exc:
        raise click.ClickException(f"{exc} (run `flask doctor` for a full check)") from exc
    if starter:
        click.echo(starter_config(catalog, pick))
        return
    click.echo(f"Fields in {adapter.kind} '{adapter.name}' (key: label [CRM type -> portal type]):")
    for info in catalog.fields:
        portal_type = info.portal_type or "not supported"
        flags = " read-only" if info.read_only else ""
        click.echo(f"  {info.key}: {info.label} [{info.type} -> {portal_type}]{flags}")
        if info.choices:
            click.echo("      choices: " + ", ".join(f"{v} ({lbl})" if lbl != v else v
                                                    for v, lbl in info.choices))
    click.echo("Subscription items (kind ref: name):")
    for item in catalog.items:
        click.echo(f"  {item.item.kind} {item.item.ref}: {item.label}")
    if catalog.tags:
        click.echo("Tags in use: " + ", ".join(catalog.tags))
    if automations:
        click.echo("Automations (id: name):")
        for ident, name in automations:
            click.echo(f"  {ident}: {name}")


def starter_config(catalog: Catalog, pick: Sequence[str] = ()) -> str:
    """TOML blocks for the picked fields and items, labels to translate."""
    chosen = set(pick)
    lines: list[str] = []
    used: set[str] = set()
    for info in catalog.fields:
        if info.portal_type is None or (chosen and info.key not in chosen):
            continue
        key = _portal_key(info.key if not info.key.isdigit() else info.label, used)
        lines += ["[[fields]]", f"key = {_q(key)}", f"crm_field = {_q(info.key)}",
                  f"type = {_q(info.portal_type)}", f"label = {_labels(info.label)}"]
        if info.read_only:
            lines.append("editable = false")
        if info.portal_type in ("select", "multiselect"):
            lines += _choices(info)
        lines.append("")
    items = [i for i in catalog.items if not chosen or i.item.ref in chosen]
    if items:
        lines += ["[[groups]]", 'key = "newsletters"', f"label = {_labels('Newsletters')}", ""]
        for item in items:
            key = _portal_key(item.label or item.item.ref, used)
            lines += ["  [[groups.items]]", f"  key = {_q(key)}", f"  kind = {_q(item.item.kind)}",
                      f"  ref = {_q(item.item.ref)}", f"  label = {_labels(item.label)}", ""]
    return "\n".join(lines).rstrip() + "\n"


def _choices(info: CrmFieldInfo) -> list[str]:
    if not info.choices:
        return ["choices_from_crm = true"]
    rows = [f"  {{ value = {_q(v)}, label = {_labels(lbl)} }}," for v, lbl in info.choices]
    return ["choices = [", *rows, "]"]


def _labels(text: str) -> str:
    return "{ " + ", ".join(f"{lang} = {_q(text)}" for lang in LANGS) + " }"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _portal_key(text: str, used: set[str]) -> str:
    base = "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_") or "field"
    if not base[0].isalpha():
        base = f"f_{base}"
    key, n = base, 2
    while key in used:
        key, n = f"{base}_{n}", n + 1
    used.add(key)
    return key


# --- flask doctor ----------------------------------------------------------------


@dataclass
class Finding:
    ok: bool
    what: str
    fix: str = ""


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
        for finding in check_crm(name, config):
            failed |= not finding.ok
            click.echo(f"  {'ok  ' if finding.ok else 'FAIL'}  {finding.what}")
            if finding.fix:
                click.echo(f"        -> {finding.fix}")
    if failed:
        raise SystemExit(1)
    click.echo("Everything checked is fine.")


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
        addresses = sorted({a[4][0] for a in socket.getaddrinfo(host, port,
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


def check_catalog(adapter: CrmAdapter, config: Config) -> list[Finding]:
    catalog = adapter.describe()
    by_key = {f.key: f for f in catalog.fields}
    findings: list[Finding] = []
    help_fields = "create it in the CRM or fix crm_field; `flask fields` lists what exists."
    for spec in config.fields:
        if spec.is_note:
            continue  # free text goes to a note, not a field
        info = by_key.get(spec.crm_field)
        where = f'field "{spec.key}" (crm_field = "{spec.crm_field}")'
        if info is None:
            findings.append(Finding(False, f"{where}: not in the CRM", help_fields))
        elif not compatible(spec.type, info.portal_type):
            findings.append(Finding(
                False, f"{where}: the CRM field is {info.type}, the configuration says {spec.type}",
                f"change type to {info.portal_type} or use a CRM field of a matching type."
                if info.portal_type else "use a CRM field of a type the portal supports."))
        elif spec.editable and info.read_only:
            findings.append(Finding(False, f"{where}: the CRM field is read-only",
                                    "set editable = false for it, or make it writable in the CRM."))
        else:
            missing = _missing_choices(spec.choices, info)
            findings.append(Finding(not missing, f"{where}: {info.type}" + (
                f", but the CRM has no option {', '.join(missing)}" if missing else ""),
                "add the options in the CRM or fix the choices' values." if missing else ""))
    language = config.portal.language_preference
    for label, key in (("last_changed_field", config.portal.last_changed_field),
                       ("newsletter_token_field", config.portal.newsletter_token_field),
                       ("language_preference.field",
                        language.crm_field if language.mode == "field" else "")):
        if key and key not in by_key:
            findings.append(Finding(False, f'portal.{label} = "{key}": not in the CRM',
                                    "create a text field for it in the CRM (see docs/crm/) "
                                    f"or fix portal.{label}."))
        elif key:
            findings.append(Finding(True, f'portal.{label} = "{key}"'))
    findings += _check_items(adapter, catalog, config)
    findings += _check_tags(adapter, config)
    return findings


def _missing_choices(choices: Iterable, info: CrmFieldInfo) -> list[str]:
    offered = {value for value, _ in info.choices}
    if not offered:
        return []
    return [c.value for c in choices if c.value not in offered]


def _check_items(adapter: CrmAdapter, catalog: Catalog, config: Config) -> list[Finding]:
    findings: list[Finding] = []
    known = {i.item: i.label for i in catalog.items}
    automations = {ident for ident, _ in _automations(adapter)}
    for spec in config.items():
        where = f'item "{spec.key}" ({spec.kind} {spec.ref})'
        if spec.kind not in adapter.item_kinds:
            kinds = ", ".join(sorted(adapter.item_kinds)) or "none"
            findings.append(Finding(False, f"{where}: {adapter.kind} has no {spec.kind}s",
                                    f"use kind = one of: {kinds}."))
        elif spec.kind == "tag":
            findings.append(Finding(True, f"{where}" + ("" if spec.item in known else
                                                          ": not used yet; it is created on first use")))
        elif spec.item in known:
            findings.append(Finding(True, f"{where}: {known[spec.item]}"))
        else:
            findings.append(Finding(False, f"{where}: not in the CRM",
                                    "create it in the CRM or fix ref; `flask fields` lists what exists."))
        wanted = (*spec.on_subscribe.automations, *spec.on_unsubscribe.automations)
        for automation in wanted:
            if automations and automation not in automations:
                findings.append(Finding(False, f'{where}: automation "{automation}" not in the CRM',
                                        "use an automation id that `flask fields` lists."))
    return findings


def _check_tags(adapter: CrmAdapter, config: Config) -> list[Finding]:
    """Say so when the configuration asks for tags from a CRM that has none (HubSpot)."""
    asking = [f'item "{i.key}" (tags on subscribe/unsubscribe)' for i in config.items()
              if i.on_subscribe.tags or i.on_unsubscribe.tags]
    if config.portal.language_preference.mode == "tags":
        asking.append('portal.language_preference (mode = "tags")')
    if not asking or adapter.supports_tags:
        return []
    return [Finding(False, f"{adapter.kind} has no tags, but {'; '.join(asking)} asks for them",
                    f"remove those tags, use subscription items instead, or set the stand-in "
                    f"for tags described in docs/crm/{adapter.kind}.md.")]


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, click.ClickException) else str(exc)
