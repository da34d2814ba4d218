from __future__ import annotations

from flask import Blueprint

bp = Blueprint("fields", __name__, template_folder="templates")


@bp.get("/admin/form")
def designer():  # type: ignore[no-untyped-def]
    return ""
