"""The workspace's blueprint, shared by its modules of views."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")
