"""The platform's rights request pages: the form (linked from every platform page's footer)
and the page where the e-mailed code is entered. Both answer the same, in content and in
status, whether the address is known in no tenant, in one or in many: the tenants are looked
at by the forwarding job, after the answer is sent. The operators see the verified requests
(no address) and may send a late one again (``ops_index``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from core.clock import utcnow
from core.jobs import enqueue
from core.web.htmx import render
from core.web.pagination import requested_page
from webapp import db
from webapp.access import PRIVACY_ROLES, operator_required
from webapp.rights_intake import forms, services, tasks
from webapp.rights_intake.models import PlatformRightsRequest

bp = Blueprint("rights_intake", __name__, template_folder="templates")
CNIL_COMPLAINT = "https://www.cnil.fr/fr/plaintes"


@bp.route("/rights/request", methods=["GET", "POST"])
def request_form():
    form = forms.RequestForm()
    if not form.validate_on_submit():
        return render("rights_intake/request.html", form=form, cnil=CNIL_COMPLAINT,
                      status=422 if form.is_submitted() else 200)
    request, code = services.submit(db.session(), kind=form.kind.data, email=form.email.data,
                                    details=form.details.data or "",
                                    language=str(get_locale() or "fr"))
    if code is not None:  # else one went out a moment ago
        enqueue(tasks.send_code, request.id, code)
    return redirect(url_for(".verify", token=request.token), code=303)


def _pending(token: str) -> PlatformRightsRequest:
    found = services.by_token(db.session(), token)
    if found is None or found.status != "unverified":  # its page tells nothing once verified
        abort(404)
    return found


@bp.route("/rights/request/<token>", methods=["GET", "POST"])
def verify(token: str):
    request = _pending(token)
    form = forms.CodeForm()
    context: dict[str, Any] = {"form": form, "rights_request": request,
                               "kind_labels": forms.KIND_LABELS, "cnil": CNIL_COMPLAINT}
    if not form.validate_on_submit():
        return render("rights_intake/verify.html", outcome=None,
                      status=422 if form.is_submitted() and form.errors else 200, **context)
    result = services.verify(db.session(), request, form.code.data)
    if result.outcome == "wrong":
        form.code.errors = [_("This code is not the one we sent. Attempts left: %(num)d.",
                              num=result.attempts_left)]
        return render("rights_intake/verify.html", outcome=None, status=422, **context)
    if result.outcome == "expired":
        return render("rights_intake/verify.html", outcome="expired", status=410, **context)
    enqueue(tasks.forward, request.id)
    return render("rights_intake/verify.html", outcome="received", due=services.due_on(request),
                  **context)


# --- the operators' page -----------------------------------------------------------------------


@bp.get("/ops/rights-requests")
@operator_required()
def ops_index():
    """Every verified request: when received, its legal due date, to how many organisations
    it went; a late one (not forwarded an hour after its receipt) can be sent again."""
    found, counts = services.received_page(db.session(), requested_page())
    return render("rights_intake/ops_index.html", requests=found, counts=counts,
                  kind_labels=forms.KIND_LABELS, now=utcnow(), is_late=services.is_late,
                  due_on=services.due_on, can_retry=current_user.operator_role in PRIVACY_ROLES)


@bp.post("/ops/rights-requests/<int(min=1, max=2147483647):request_id>/forward")
@operator_required(*PRIVACY_ROLES)
def ops_forward(request_id: int):
    """Queue the forwarding again (it forwards to nobody twice)."""
    request = db.session().get(PlatformRightsRequest, request_id)
    if request is None or request.status == "unverified":
        abort(404)
    if request.status == "received":
        enqueue(tasks.forward, request.id)
        flash(_("Request Parvis #%(id)d will be forwarded again in a moment.", id=request.id),
              "rights_intake")
    else:
        flash(_("Request Parvis #%(id)d was already forwarded.", id=request.id),
              "rights_intake")
    return redirect(url_for(".ops_index"), code=303)
