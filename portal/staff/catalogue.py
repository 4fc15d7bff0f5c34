"""What the CRM offers, as the workspace shows it: fields (key, label,
type, options), lists and other subscription items, tags in use and
automations, from the adapter's describe() through the catalogue cache,
with a button to read them again; and, on the embedded CRM, a field or a
list created right there."""

from __future__ import annotations

import re

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal.crm.base import Catalog, CrmAdapter, CrmError, CrmItemInfo, ItemRef
from portal.crm.local import LocalCrm
from portal.delivery import delivery
from portal.fields import FIELD_TYPES
from portal.i18n import text_for
from portal.staff import editing
from portal.staff.blueprint import bp
from portal.staff.forms import TokenForm, require_token
from portal.staff.sessions import publisher_required, staff_member, staff_required
from portal.staff.workspace import draft_of, workspace

AUTOMATIONS_SECONDS = 600
NEW_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def catalog() -> Catalog:
    """The CRM's catalogue, cached for `catalog_cache_seconds` (CRM calls on a miss)."""
    parts = delivery()
    return parts.profiles.catalog(parts.crm)


def automations_of(crm: CrmAdapter) -> list[tuple[str, str]]:
    """(id, name) of the CRM's automations, kept with the catalogue's cache."""
    cache = delivery().profiles.cache
    key = f"automations:{crm.name}"
    found: list[tuple[str, str]] | None = cache.get(key)
    if found is None:
        found = crm.automations()
        cache.set(key, found, timeout=AUTOMATIONS_SECONDS)
    return found


def refresh() -> None:
    parts = delivery()
    parts.profiles.forget_catalog(parts.crm)
    parts.profiles.cache.delete(f"automations:{parts.crm.name}")


@bp.get("/catalogue")
@staff_required
def catalogue() -> str | tuple[str, int]:
    member = staff_member()
    assert member is not None
    crm = delivery().crm
    draft = draft_of(member)
    try:
        offered, automations = catalog(), automations_of(crm)
    except CrmError as exc:
        return render_template("staff/catalogue.html", error=str(exc), crm=crm,
                               local=isinstance(crm, LocalCrm), form=TokenForm()), 503
    exposed_fields = {str(f.get("crm_field")) for f in draft.document.get("fields", [])}
    exposed_items = {(str(i.get("kind")), str(i.get("ref")))
                     for g in draft.document.get("groups", []) for i in g.get("items", [])}
    groups = [(n, text_for(g.get("label") or {}) or str(g.get("key")))
              for n, g in enumerate(draft.document.get("groups", []))]
    return render_template("staff/catalogue.html", catalog=offered, automations=automations,
                           crm=crm, local=isinstance(crm, LocalCrm), form=TokenForm(),
                           exposed_fields=exposed_fields, exposed_items=exposed_items,
                           groups=groups, types=FIELD_TYPES)


@bp.post("/catalogue/refresh")
@staff_required
def refresh_catalogue() -> Response:
    require_token()
    refresh()
    _record("refresh catalogue")
    flash(_("The CRM's fields and lists were read again."), "success")
    return redirect(url_for("staff.catalogue"))


@bp.post("/catalogue/expose-field")
@staff_required
def expose_field() -> Response:
    require_token()
    info = next((f for f in catalog().fields if f.key == request.form.get("crm_field")), None)
    if info is None:
        flash(_("That field is no longer in the CRM. Read the catalogue again."), "warning")
        return redirect(url_for("staff.catalogue"))
    member = staff_member()
    assert member is not None
    draft = draft_of(member)
    index = editing.add_field(draft.document, info)
    workspace().store.save_draft(member.email, draft.base_version, draft.document)
    _record("add field", info.key)
    flash(_("The field is in your draft. Write its texts in every language."), "success")
    return redirect(url_for("staff.edit_field", index=index))


@bp.post("/catalogue/expose-item")
@staff_required
def expose_item() -> Response:
    require_token()
    kind, ref = request.form.get("kind", ""), request.form.get("ref", "")
    offered = catalog()
    info = next((i for i in offered.items if (i.item.kind, i.item.ref) == (kind, ref)), None)
    if info is None and kind == "tag" and ref in offered.tags:
        info = CrmItemInfo(ItemRef("tag", ref), ref)
    if info is None:
        flash(_("That list is no longer in the CRM. Read the catalogue again."), "warning")
        return redirect(url_for("staff.catalogue"))
    member = staff_member()
    assert member is not None
    draft = draft_of(member)
    chosen = request.form.get("group", "-1")
    group = int(chosen) if chosen.lstrip("-").isdigit() else -1  # -1: a new group
    groups_before = len(draft.document.get("groups", []))
    index = editing.add_item(draft.document, group, info)
    group = group if 0 <= group < groups_before else len(draft.document["groups"]) - 1
    workspace().store.save_draft(member.email, draft.base_version, draft.document)
    _record("add item", f"{kind} {ref}")
    flash(_("The item is in your draft. Write its texts in every language."), "success")
    return redirect(url_for("staff.edit_item", group=group, index=index))


@bp.post("/catalogue/create-field")
@publisher_required
def create_field() -> str | Response | tuple[str, int]:
    require_token()
    crm = delivery().crm
    key, label = request.form.get("key", "").strip(), request.form.get("label", "").strip()
    kind = request.form.get("type", "text")
    choices = editing.read_choices(request.form.get("choices", ""))
    error = _new_thing_problem(crm, key, label) or (
        _("Choose one of the types offered.") if kind not in FIELD_TYPES else "")
    if error:
        flash(error, "warning")
        return redirect(url_for("staff.catalogue") + "#create-field")
    assert isinstance(crm, LocalCrm)
    crm.define_field(key, label, kind, [(c["value"], c["label"].get("en") or c["value"])
                                        for c in choices])
    refresh()
    _record("create CRM field", f"{key} ({kind})")
    flash(_("The field “%(key)s” now exists in the CRM.", key=key), "success")
    return redirect(url_for("staff.catalogue") + f"#field-{key}")


@bp.post("/catalogue/create-list")
@publisher_required
def create_list() -> Response:
    require_token()
    crm = delivery().crm
    key, label = request.form.get("key", "").strip(), request.form.get("label", "").strip()
    error = _new_thing_problem(crm, key, label, list_id=True)
    if error:
        flash(error, "warning")
        return redirect(url_for("staff.catalogue") + "#create-list")
    assert isinstance(crm, LocalCrm)
    crm.define_list(key, label)
    refresh()
    _record("create CRM list", f"{key} ({label})")
    flash(_("The list “%(name)s” now exists in the CRM.", name=label), "success")
    return redirect(url_for("staff.catalogue") + f"#list-{key}")


def _new_thing_problem(crm: CrmAdapter, key: str, label: str, list_id: bool = False) -> str:
    if not isinstance(crm, LocalCrm):
        return str(_("Only the embedded CRM can be changed from here: create it in your CRM, "
                     "then read the catalogue again."))
    pattern = re.compile(r"^[A-Za-z0-9_-]{1,40}$") if list_id else NEW_KEY
    if not pattern.match(key):
        return str(_("The key must be lower-case letters, digits and _, starting with a letter.")
                   if not list_id else _("The id must be letters, digits, - and _ (up to 40)."))
    if not label or len(label) > 200:
        return str(_("Give it a name of up to 200 characters."))
    offered = catalog()
    taken = {f.key for f in offered.fields} if not list_id else \
        {i.item.ref for i in offered.items if i.item.kind == "list"}
    if key in taken:
        return str(_("“%(key)s” already exists in the CRM.", key=key))
    return ""



def _record(action: str, detail: str = "") -> None:
    member = staff_member()
    assert member is not None
    workspace().store.record(member.email, action, detail)
