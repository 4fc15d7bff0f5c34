"""CRM adapters: the registry that maps a configured `type` to its adapter
class, and the one place that builds adapters with their shared outbound
limiter."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from limits.storage import Storage

from portal.crm.base import CrmAdapter, CrmConfigError
from portal.crm.limiter import SharedLimiter

if TYPE_CHECKING:  # OAuth's libraries load only for the CRMs that use it
    from portal.crm.oauth import TokenStores

# type name -> "module:Class"; imported lazily so one CRM's code never loads for another.
ADAPTERS: dict[str, str] = {
    "local": "portal.crm.local:LocalCrm",
    "activecampaign": "portal.crm.activecampaign:ActiveCampaignCrm",
    "mautic": "portal.crm.mautic:MauticCrm",
    "clientify": "portal.crm.clientify:ClientifyCrm",
    "hubspot": "portal.crm.hubspot:HubSpotCrm",
    "zoho": "portal.crm.zoho:ZohoCrm",
    "salesforce": "portal.crm.salesforce:SalesforceCrm",
}


def adapter_class(kind: str) -> type[CrmAdapter]:
    try:
        module_name, class_name = ADAPTERS[kind].split(":")
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise CrmConfigError(f"Unknown CRM type '{kind}'. Known types: {known}.") from None
    adapter: type[CrmAdapter] = getattr(importlib.import_module(module_name), class_name)
    return adapter


def rate_for(options: Mapping[str, Any]) -> str | None:
    """The request rate a `[crm.NAME]` block asks for, or its adapter's documented one."""
    rate = options.get("rate_limit", adapter_class(str(options.get("type", "local"))).default_rate)
    return None if not rate or rate == "off" else str(rate)


def tag_name_limit(options: Mapping[str, Any]) -> int | None:
    """The longest tag name the CRM of a `[crm.NAME]` block accepts, if it has a limit."""
    kind = str(options.get("type", "local"))
    return adapter_class(kind).tag_name_limit if kind in ADAPTERS else None


def build_adapter(name: str, options: Mapping[str, Any], state_dir: Path) -> CrmAdapter:
    """Build the adapter named `name` from its configuration block, alone (no
    shared limiter: for tests and one-off tools)."""
    return adapter_class(options.get("type", "local"))(name, options, state_dir)


def build_adapters(blocks: Mapping[str, Mapping[str, Any]], state_dir: Path, *,
                   storage_url: str | Storage = "memory://", limit: bool = True,
                   max_wait: float = 1.5, read_timeout: float | None = None,
                   token_stores: TokenStores | None = None) -> dict[str, CrmAdapter]:
    """The adapters of the `[crm.NAME]` blocks given, sharing one outbound
    limiter (counters in `storage_url`: a `limits` URL or storage) that keeps
    each under its rate. OAuth tokens go to `token_stores` (default: files
    under `state_dir`)."""
    limiter = SharedLimiter(storage_url, {name: rate_for(options) for name, options in blocks.items()},
                            max_wait) if limit else None
    timeouts = {"read_timeout": read_timeout} if read_timeout is not None else {}
    shared: dict[str, Any] = {"limiter": limiter}
    if token_stores is not None:
        shared["token_stores"] = token_stores
    return {name: build_adapter(name, {**timeouts, **options, **shared}, state_dir)
            for name, options in blocks.items()}
