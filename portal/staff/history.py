"""Every published version (who, when, note), what each changed from the
one before, and publishing any of them again (a rollback); and the record
of what staff did."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal.staff.blueprint import bp
from portal.staff.diff import differences
from portal.staff.forms import PublishForm, TokenForm
from portal.staff.sessions import publisher_required, staff_member, staff_required
from portal.staff.workspace import workspace


@bp.get("/history")
@staff_required
def history() -> str:
    space = workspace()
    versions = space.store.versions()
    return render_template("staff/history.html", versions=versions, member=staff_member(),
                           newest=versions[0].id if versions else None)


@bp.get("/history/<int:version_id>")
@staff_required
def version(version_id: int) -> str:
    space = workspace()
    shown = space.store.version(version_id)
    if shown is None:
        abort(404)
    before = space.store.version(version_id - 1)
    return render_template(
        "staff/version.html", version=shown, before=before, member=staff_member(),
        changes=differences(before.document if before else {}, shown.document),
        newest=space.store.newest_id(),
        form=PublishForm(formdata=None, data={"note": _("Back to version %(version)d",
                                                        version=version_id)}))


@bp.post("/history/<int:version_id>/publish")
@publisher_required
def publish_again(version_id: int) -> Response:
    form = PublishForm()
    if not form.validate_on_submit():
        abort(400)
    member = staff_member()
    assert member is not None
    space = workspace()
    shown = space.store.version(version_id)
    if shown is None:
        abort(404)
    made = space.store.publish(shown.document, (form.note.data or "").strip(), member.email,
                               base_version=None, restores=version_id)
    space.published.expire()
    flash(_("Version %(version)d is published: the same as version %(old)d. Contacts see it "
            "within a few seconds.", version=made, old=version_id), "success")
    return redirect(url_for("staff.history"))


@bp.get("/actions")
@staff_required
def actions() -> str:
    return render_template("staff/actions.html", actions=workspace().store.actions(),
                           form=TokenForm())
