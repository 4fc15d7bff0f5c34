"""The workspace's blueprint, shared by its modules of views."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from portal.staff.sessions import staff_member

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.context_processor
def signed_in_staff() -> dict[str, Any]:
    """Every workspace page knows who is signed in (None on the sign-in pages)."""
    return {"staff": staff_member()}
