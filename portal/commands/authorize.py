"""`portal crm authorize NAME`: grant the portal OAuth2 access to a CRM, once.

It prints the CRM's consent URL, asks for the address the browser was sent
to afterwards (or just its `code`), trades the code for tokens and stores
them where the adapter keeps them (the portal's database, sealed, which
every machine reads). The tokens are never printed. Run it again whenever the CRM says the refresh
token was revoked.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import click
from flask.cli import AppGroup, with_appcontext

from portal.commands.adapters import configured, configured_adapter
from portal.crm.base import CrmAdapter, CrmError
from portal.crm.oauth import TokenManager

crm_group = AppGroup("crm", help="Connect the portal to its CRMs.")


@crm_group.command("authorize")
@click.argument("name")
@click.option("--redirect-uri", default=None,
              help="The redirect URI registered for the CRM app (default: redirect_uri in "
                   "[crm.NAME]).")
@click.option("--response", "pasted", default=None,
              help="The address the browser was sent to, or its code (else it is asked for).")
@with_appcontext
def authorize_command(name: str, redirect_uri: str | None, pasted: str | None) -> None:
    """Walk through the OAuth2 authorization-code flow for the CRM NAME."""
    adapter = configured_adapter(name, configured())
    tokens: TokenManager | None = getattr(adapter, "tokens", None)
    if tokens is None:
        raise click.ClickException(
            f"The {adapter.kind} CRM '{name}' does not use OAuth2 here: its credentials come from "
            "the environment (see docs/crm/).")
    redirect = redirect_uri or tokens.client.redirect_uri
    if not redirect:
        raise click.ClickException(f"Set redirect_uri in [crm.{name}] to the redirect URI registered "
                                   "for the CRM app, or pass --redirect-uri.")
    try:
        url, state = tokens.authorization_url(redirect)
    except CrmError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"1. Open this address, signed in to {adapter.kind} as the user the portal acts for,"
               " and allow access:\n")
    click.echo(f"   {url}\n")
    click.echo(f"2. The browser then goes to {redirect}?code=... (the page may not load: that is "
               "fine).")
    answer = pasted or click.prompt("   Paste that whole address (or just the code)")
    code, params = _read_answer(answer)
    if params.get("error"):
        raise click.ClickException(f"{adapter.kind} refused: {params['error']} "
                                   f"{params.get('error_description', '')}".strip())
    if params.get("state") and params["state"] != state:
        raise click.ClickException("The pasted address belongs to another attempt (state differs): "
                                   "open the new address above.")
    token_url = _token_url_from_redirect(adapter, params)
    try:
        tokens.exchange_code(code, redirect, token_url)
    except CrmError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Authorized: the tokens for '{name}' XX Run `portal doctor` to check the connection.")


def _read_answer(answer: str) -> tuple[str, dict[str, str]]:
    answer = answer.strip()
    if "?" not in answer and "=" not in answer:
        return answer, {}
    query = urlsplit(answer).query if "?" in answer else answer
    params = {key: values[0] for key, values in parse_qs(query).items()}
    if not params.get("code") and not params.get("error"):
        raise click.ClickException("The pasted address has no code= in it.")
    return params.get("code", ""), params


def _token_url_from_redirect(adapter: CrmAdapter, params: dict[str, str]) -> str | None:
    # Zoho sends the user's own accounts server back with the code (multi-DC accounts).
    pick = getattr(adapter, "token_url_from_redirect", None)
    return pick(params) if callable(pick) else None
