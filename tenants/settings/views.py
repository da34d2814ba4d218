from __future__ import annotations

from flask import Blueprint

bp = Blueprint("settings", __name__, template_folder="templates")


@bp.get("/admin/settings")
def edit():  # type: ignore[no-untyped-def]
    return ""
