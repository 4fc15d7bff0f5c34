"""The draft: what contacts will see, field by field and item by item,
with every problem beside what it concerns; the editors of a field, a
group, an item and the page's texts; moving and removing; publishing."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal.config import LANGUAGES
from portal.fields import FIELD_TYPES
from portal.i18n import text_for
from portal.staff import editing
from portal.staff.blueprint import bp
from portal.staff.checks import check_draft
from portal.staff.diff import differences
from portal.staff.forms import PublishForm, TokenForm, require_token
from portal.staff.sessions import StaffMember, publisher_required, staff_member, staff_required
from portal.staff.store import Conflict, Draft
from portal.staff.workspace import draft_of, newest_document, workspace

KINDS = ("fields", "groups", "items")


def _member() -> StaffMember:
    member = staff_member()
    assert member is not None  # staff_required
    return member



def _save(member: StaffMember, draft: Draft, action: str, detail: str) -> None:
    space = workspace()
    space.store.save_draft(member.email, draft.base_version, draft.document)
    space.store.record(member.email, action, detail)


def missing_languages(labels: Any) -> list[str]:
    labels = labels if isinstance(labels, dict) else {}
    return [lang for lang in workspace().file_config.portal.languages if not labels.get(lang)]


@bp.get("/draft")
@staff_required
def draft() -> str:
    member = _member()
    found = draft_of(member)
    newest, newest_doc = newest_document()
    checked = check_draft(found.document, workspace().file_config)
    return render_template(
        "staff/draft.html", draft=found, document=found.document, checked=checked,
        newest=newest, changes=differences(newest_doc, found.document),
        form=TokenForm(), publish_form=PublishForm(formdata=None), member=member,
        missing=missing_languages, label_of=_label_of)


def _label_of(table: Any) -> str:
    labels = table.get("label") if isinstance(table, dict) else None
    return text_for(labels) if isinstance(labels, dict) and labels else str(table.get("key", ""))


def _place() -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in request.form.get("place", "").split(","))
    except ValueError:
        abort(400)


@bp.post("/draft/move")
@staff_required
def move() -> Response:
    require_token()
    member, kind = _member(), request.form.get("kind", "")
    found = draft_of(member)
    place = _place()
    step = -1 if request.form.get("direction") == "up" else 1
    if kind not in KINDS or not editing.move(found.document, kind, place, step):
        abort(400)
    _save(member, found, "move", f"{kind} {place} {'up' if step < 0 else 'down'}")
    return redirect(url_for("staff.draft") + f"#{kind}-{'-'.join(map(str, place))}")


@bp.post("/draft/remove")
@staff_required
def remove() -> Response:
    require_token()
    member, kind = _member(), request.form.get("kind", "")
    found = draft_of(member)
    removed = editing.remove(found.document, kind, _place()) if kind in KINDS else None
    if removed is None:
        abort(400)
    _save(member, found, "remove", f"{kind} {removed.get('key')}")
    flash(_("“%(key)s” is out of your draft.", key=removed.get("key")), "success")
    return redirect(url_for("staff.draft") + f"#{kind}")


@bp.post("/draft/add-group")
@staff_required
def add_group() -> Response:
    require_token()
    member = _member()
    found = draft_of(member)
    index = editing.add_group(found.document)
    _save(member, found, "add group", str(index))
    return redirect(url_for("staff.edit_group", group=index))


@bp.post("/draft/discard")
@staff_required
def discard() -> Response:
    require_token()
    member = _member()
    workspace().store.discard_draft(member.email)
    workspace().store.record(member.email, "discard draft")
    flash(_("Your draft is gone; you start again from the published version."), "info")
    return redirect(url_for("staff.draft"))


# --- editors ------------------------------------------------------------------------------


def _editor(template: str, table: dict[str, Any], place: str, **extra: Any) -> str:
    member = _member()
    checked = check_draft(draft_of(member).document, workspace().file_config, with_crm=False)
    return render_template(template, table=table, problems=checked.settings.get(place, {}),
                           text_languages=workspace().file_config.portal.languages,
                           all_languages=LANGUAGES, form=TokenForm(), **extra)


def _edited(member: StaffMember, found: Draft, what: str, key: Any, back: str) -> Response:
    _save(member, found, f"edit {what}", str(key))
    checked = check_draft(found.document, workspace().file_config, with_crm=False)
    if any(place.startswith(back) for place in checked.problems):
        flash(_("Saved in your draft. Some things still need fixing: see beside each setting."),
              "warning")
    else:
        flash(_("Saved in your draft."), "success")
    return redirect(request.path)


@bp.route("/draft/fields/<int:index>", methods=["GET", "POST"])
@staff_required
def edit_field(index: int) -> str | Response:
    member = _member()
    found = draft_of(member)
    fields = found.document.get("fields", [])
    if not 0 <= index < len(fields):
        abort(404)
    if request.method == "POST":
        require_token()
        editing.update_field(fields[index], request.form)
        return _edited(member, found, "field", fields[index].get("key"), f"fields[{index}]")
    return _editor("staff/field.html", fields[index], f"fields[{index}]", index=index,
                   types=FIELD_TYPES, choices=editing.choices_text(fields[index].get("choices", [])))


@bp.route("/draft/groups/<int:group>", methods=["GET", "POST"])
@staff_required
def edit_group(group: int) -> str | Response:
    member = _member()
    found = draft_of(member)
    groups = found.document.get("groups", [])
    if not 0 <= group < len(groups):
        abort(404)
    if request.method == "POST":
        require_token()
        editing.update_group(groups[group], request.form)
        return _edited(member, found, "group", groups[group].get("key"), f"groups[{group}]")
    return _editor("staff/group.html", groups[group], f"groups[{group}]", group=group)


@bp.route("/draft/groups/<int:group>/items/<int:index>", methods=["GET", "POST"])
@staff_required
def edit_item(group: int, index: int) -> str | Response:
    member = _member()
    found = draft_of(member)
    located = editing.entries(found.document, "items", (group, index))
    if located is None or not 0 <= index < len(located[0]):
        abort(404)
    item = located[0][index]
    if request.method == "POST":
        require_token()
        editing.update_item(item, request.form)
        return _edited(member, found, "item", item.get("key"), f"groups[{group}].items[{index}]")
    return _editor("staff/item.html", item, f"groups[{group}].items[{index}]", group=group,
                   index=index)


@bp.route("/draft/page", methods=["GET", "POST"])
@staff_required
def edit_page() -> str | Response:
    member = _member()
    found = draft_of(member)
    if request.method == "POST":
        require_token()
        editing.update_page(found.document, request.form)
        return _edited(member, found, "page texts", "", "page")
    return _editor("staff/page.html", found.document.get("page", {}), "page")


# --- publishing ------------------------------------------------------------------------------


@bp.post("/publish")
@publisher_required
def publish() -> str | Response | tuple[str, int]:
    member = _member()
    form = PublishForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash(form.note.errors[0], "warning")
        return redirect(url_for("staff.draft") + "#publish")
    found = draft_of(member)
    checked = check_draft(found.document, workspace().file_config, with_crm=False)
    if checked.count:
        flash(_("Nothing was published: fix the problems shown beside the fields first."), "warning")
        return redirect(url_for("staff.draft") + "#problems")
    overwrite = request.form.get("overwrite") == str(workspace().store.newest_id())
    space = workspace()
    try:
        version = space.store.publish(found.document, (form.note.data or "").strip(), member.email,
                                      None if overwrite else found.base_version)
    except Conflict as conflict:
        return _conflict(found, conflict.newest, (form.note.data or "").strip()), 409
    space.store.discard_draft(member.email)
    space.published.expire()
    flash(_("Version %(version)d is published. Contacts see it on their next page, within a few "
            "seconds.", version=version), "success")
    return redirect(url_for("staff.history"))


def _conflict(found: Draft, newest: int, note: str) -> str:
    space = workspace()
    theirs = space.store.version(newest)
    base = space.store.version(found.base_version)
    assert theirs is not None
    return render_template(
        "staff/conflict.html", draft=found, theirs=theirs, note=note,
        their_changes=differences(base.document if base else {}, theirs.document),
        my_changes=differences(theirs.document, found.document),
        form=PublishForm(formdata=None, data={"note": note}), token_form=TokenForm())
