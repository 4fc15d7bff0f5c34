"""CRM adapters: the registry that maps a configured `type` to its adapter class."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from portal.crm.base import CrmAdapter, CrmConfigError

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
    return getattr(importlib.import_module(module_name), class_name)


def build_adapter(name: str, options: Mapping[str, Any], state_dir: Path) -> CrmAdapter:
    """Build the adapter named `name` from its configuration block."""
    return adapter_class(options.get("type", "local"))(name, options, state_dir)
