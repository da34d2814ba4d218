"""Staff actions on a participant's rights. For now: "Erase this participant" (admins), a
confirmation page that works without JavaScript, then the erasure."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField

from tenants import access, db
from tenants.audit import services as audit
from tenants.participants import services as participants
from tenants.rights import services
from webapp.web.htmx import render

bp = Blueprint("rights", __name__, template_folder="templates")
ID = "int(min=1, max=2147483647)"


class EraseForm(FlaskForm):
    confirm = BooleanField(_l("I understand that this cannot be undone"))


@bp.route(f"/admin/participants/<{ID}:participant_id>/erase", methods=["GET", "POST"])
@access.exercise_of_rights
@access.require_role("admin")
def erase(participant_id: int):  # type: ignore[no-untyped-def]
    session = db.session()
    participant = participants.get(session, participant_id)
    if participant is None:
        abort(404)
    form = EraseForm()
    if request.method == "GET" or not form.validate_on_submit() or not form.confirm.data:
        if request.method == "POST" and not form.confirm.data and not form.errors:
            form.confirm.errors = [_("Tick the box to confirm the erasure.")]
        status = 200 if request.method == "GET" else 422
        return render("rights/erase.html", status=status, form=form, participant=participant)
    services.erase(session, participant)
    audit.record(session, member_id=access.member_id(), action="participant.erase",
                 target=f"participant:{participant_id}")
    return redirect(url_for(".erased"), code=303)


@bp.get("/admin/participants/erased")
@access.require_role("admin")
def erased():  # type: ignore[no-untyped-def]
    return render("rights/erased.html")
