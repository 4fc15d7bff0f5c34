"""What a HubSpot account offers the portal: contact properties as fields,
the properties that stand for items, Communication Preferences v4
subscription types, and manual and snapshot lists of contacts."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

from portal.crm import base, planning
from portal.crm.http import CrmHttp

log = logging.getLogger(__name__)
CONTACTS = "0-1"  # HubSpot's object type id of contacts
PORTAL_TYPES: dict[str, base.FieldType] = {
    "text": "text", "textarea": "textarea", "phonenumber": "tel", "select": "select",
    "radio": "select", "checkbox": "multiselect", "booleancheckbox": "checkbox", "date": "date",
}


def catalogue(http: CrmHttp, crm: str, item_kinds: Collection[str]) -> base.Catalog:
    props = http.json("GET", "/crm/v3/properties/contacts",
                      params={"archived": "false"}).get("results", [])
    fields = [_field_info(p) for p in props if not (p.get("hidden") or p.get("calculated"))]
    definitions = http.json("GET", "/communication-preferences/v4/definitions")
    types = [base.CrmItemInfo(base.ItemRef("subscription_type", str(d["id"])),
                              d.get("name", str(d["id"])))
             for d in definitions.get("results", []) if d.get("isActive", True)]
    items = [*planning.field_items(fields, item_kinds), *types, *_list_items(http, crm)]
    return base.Catalog(fields=tuple(fields), items=tuple(items))


def _list_items(http: CrmHttp, crm: str) -> list[base.CrmItemInfo]:
    """Manual and snapshot lists of contacts, every page. The lists scopes are
    optional, and a list search HubSpot refuses costs the list items alone."""
    found: list[dict[str, Any]] = []
    offset, more = 0, True
    while more:
        try:
            page = http.json("POST", "/crm/v3/lists/search", json={
                "offset": offset, "count": 500, "additionalProperties": [],
                "objectTypeId": CONTACTS, "processingTypes": ["MANUAL", "SNAPSHOT"]})
        except base.CrmError as exc:
            if exc.transient:
                raise
            log.warning("HubSpot '%s' lists are not offered: %s", crm, exc)
            return []
        found += page.get("lists", [])
        more, offset = bool(page.get("hasMore")) and page.get("offset", 0) > offset, \
            page.get("offset", 0)
    return [base.CrmItemInfo(base.ItemRef("list", str(lst["listId"])), lst.get("name", ""))
            for lst in found if lst.get("objectTypeId", CONTACTS) == CONTACTS
            and lst.get("processingType") != "DYNAMIC"]


def _field_info(prop: Mapping[str, Any]) -> base.CrmFieldInfo:
    choices = tuple((o["value"], o.get("label", o["value"])) for o in prop.get("options", [])
                    if not o.get("hidden"))
    return base.CrmFieldInfo(
        key=prop["name"], label=prop.get("label", prop["name"]),
        type=f"{prop.get('type')}/{prop.get('fieldType')}",
        portal_type="email" if prop["name"] == "email" else PORTAL_TYPES.get(prop.get("fieldType", "")),
        choices=choices if prop.get("type") == "enumeration" else (),
        custom=not prop.get("hubspotDefined", False),
        read_only=bool((prop.get("modificationMetadata") or {}).get("readOnlyValue")))
