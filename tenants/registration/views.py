from __future__ import annotations

from flask import Blueprint

bp = Blueprint("registration", __name__, template_folder="templates")


@bp.get("/me/registrations")
def mine():  # type: ignore[no-untyped-def]
    return ""


@bp.get("/admin/approvals")
def approvals():  # type: ignore[no-untyped-def]
    return ""
