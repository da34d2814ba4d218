"""Data-subject rights pages.

- The signed-in participant's privacy page (/me/privacy): their data, downloads, choices,
  deletion, and when each kind of data goes. Its forms swap the page's ``#privacy`` part with
  htmx and are plain forms without JavaScript.
- The request form for people without an account (/rights/request), verified by an e-mailed
  code, and the download link of an answered access request.
- The tenant's rights inbox (managers and above; erasure only by admins, like the erase page),
  the staff erasure of an account (admins), the admins' view of what is kept about a
  participant and why (the facts of the participant's own privacy page, same function) and
  the access log (admins).
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from core.db import writes
from core.jobs import enqueue
from core.web.htmx import render, template_globals
from core.web.pagination import requested_page
from tenants import access, db
from tenants.audit import services as audit
from tenants.consent import ledger as consent_ledger
from tenants.participants import services as participants
from tenants.participants.forms import VISIBILITY_LABELS
from tenants.participants.models import Participant
from tenants.participants.views import signed_in
from tenants.registration.forms import STATUS_LABELS
from tenants.retention import services as retention
from tenants.rights import forms, services, tasks
from tenants.rights.models import PrivacyChoices, RightsRequest, is_restricted
from tenants.settings import services as settings

bp = Blueprint("rights", __name__, template_folder="templates")
ID = "int(min=1, max=2147483647)"
CNIL_COMPLAINT = "https://www.cnil.fr/fr/plaintes"


def processing_restricted(participant: Participant | None) -> bool:
    """``processing_restricted(participant)`` in templates (the account pages' banner)."""
    return participant is not None and is_restricted(db.session(), participant.id)


def privacy_choices(participant: Participant) -> PrivacyChoices:
    """``privacy_choices(participant)`` in templates (the staff's record of a participant)."""
    return services.choices(db.session(), participant.id)


template_globals(bp, processing_restricted=processing_restricted,
                 privacy_choices=privacy_choices, directive_labels=forms.DIRECTIVE_LABELS)


def _language() -> str:
    return str(get_locale() or "fr")


# --- the participant's privacy page --------------------------------------------------------


def _privacy_page(me: Participant, status: int = 200, **forms_given: object) -> Response:
    session = db.session()
    row = services.choices(session, me.id)
    directive = forms_given.pop("directive", None) or forms.DirectiveForm(
        formdata=None, directive=row.directive, name=row.directive_name,
        email=row.directive_email)
    marketing = forms.MarketingForm(
        formdata=None, marketing="yes" if consent_ledger.marketing(session, me.id) else "no")
    return render(
        "rights/privacy.html", status=status, me=me, choices=row,
        facts=services.privacy_facts(session, me, _language(), settings.languages(session)[0]),
        restricted=is_restricted(session, me.id), cnil=CNIL_COMPLAINT, **_fact_labels(),
        confirm=forms.ConfirmForm(), marketing=forms_given.pop("marketing", marketing),
        objection=forms_given.pop("objection", None) or forms.ObjectionForm(formdata=None),
        directive=directive,
        delete=forms_given.pop("delete", None) or forms.DeleteForm(formdata=None))


def _fact_labels() -> dict[str, Any]:
    """The labels ``rights/_data.html`` and the requests' list need."""
    return {"kind_labels": forms.KIND_LABELS, "profile_labels": forms.PROFILE_LABELS,
            "status_labels": STATUS_LABELS, "visibility_labels": VISIBILITY_LABELS}


def _saved(message: str) -> BaseResponse:
    flash(message, "privacy")
    return redirect(url_for(".privacy"), code=303)


@bp.get("/me/privacy")
@signed_in
def privacy(me: Participant):
    return _privacy_page(me)


def _download(me: Participant, kind: str, body: str, mimetype: str, extension: str) -> Response:
    services.self_service(db.session(), me, kind, evidence={
        "format": extension, "export_sha256": hashlib.sha256(body.encode()).hexdigest(),
        "export_bytes": len(body.encode())})
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="my-data.{extension}"',
        "Cache-Control": "no-store"})


@bp.get("/me/privacy/my-data.json")
@writes  # the request is recorded
@signed_in
def export_json(me: Participant):
    body = services.export_json(db.session(), me, _language())
    return _download(me, "access", body, "application/json", "json")


@bp.get("/me/privacy/my-data.csv")
@writes  # the request is recorded
@signed_in
def export_csv(me: Participant):
    body = services.export_csv(db.session(), me, _language())
    return _download(me, "portability", body, "text/csv", "csv")


@bp.post("/me/privacy/restriction")
@access.exercise_of_rights
@signed_in
def restriction(me: Participant):
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    session = db.session()
    restrict = request.form.get("restrict") == "1"
    services.set_restricted(session, me, restrict)
    if restrict:
        services.self_service(session, me, "restriction", evidence={"restricted": True})
        return _saved(_("Processing of your data is restricted: we keep it but no longer use "
                        "it, and send you no more e-mails."))
    services.self_service(session, me, "restriction", evidence={"restricted": False},
                          note="lifted")
    return _saved(_("The restriction is lifted: your data is used again as before."))


@bp.post("/me/privacy/marketing")
@access.exercise_of_rights
@signed_in
def marketing(me: Participant):
    form = forms.MarketingForm()
    if not form.validate_on_submit():
        return _privacy_page(me, status=422, marketing=form)
    session = db.session()
    opt_in = form.marketing.data == "yes"
    services.set_marketing(session, me, opt_in)
    if not opt_in:  # an objection to direct marketing (art. 21(2)): always granted
        services.self_service(session, me, "objection", evidence={"scope": "marketing"})
    return _saved(_("Your choice is saved."))


@bp.post("/me/privacy/objection")
@access.exercise_of_rights
@signed_in
def objection(me: Participant):
    form = forms.ObjectionForm()
    if not form.validate_on_submit():
        return _privacy_page(me, status=422, objection=form)
    services.object_to_processing(db.session(), me, form.reason.data)
    return _saved(_("Your objection is recorded: we stop using your data while the "
                    "organisation examines it, and answer within one month."))


@bp.post("/me/privacy/directive")
@access.exercise_of_rights
@signed_in
def directive(me: Participant):
    form = forms.DirectiveForm()
    if not form.validate_on_submit():
        return _privacy_page(me, status=422, directive=form)
    session = db.session()
    services.set_directive(session, me, form.directive.data, name=form.name.data or "",
                           email=form.email.data or "")
    services.self_service(session, me, "directive", evidence={"directive": form.directive.data})
    return _saved(_("Your directive is saved."))


@bp.post("/me/privacy/delete")
@access.exercise_of_rights
@signed_in
def delete_account(me: Participant):
    form = forms.DeleteForm()
    if not form.validate_on_submit():
        return _privacy_page(me, status=422, delete=form)
    session = db.session()
    erase_at = retention.request_deletion(session, me)
    services.self_service(session, me, "erasure", evidence={
        "deactivated": True, "erase_after": erase_at.date().isoformat()})
    participants.sign_out(session)
    return render("rights/deleted.html", erase_at=erase_at)


# --- the request form ----------------------------------------------------------------------


@bp.route("/rights/request", methods=["GET", "POST"])
@access.exercise_of_rights
def request_form():
    form = forms.RequestForm()
    if not form.validate_on_submit():
        return render("rights/request.html", form=form, cnil=CNIL_COMPLAINT,
                      status=422 if form.is_submitted() else 200)
    rights_request, code = services.submit(db.session(), kind=form.kind.data,
                                           email=form.email.data, details=form.details.data or "",
                                           language=_language())
    if code is not None:  # else one went out a moment ago
        enqueue(tasks.send_code, db.current_slug(), rights_request.id, code)
    return redirect(url_for(".verify", request_id=rights_request.id), code=303)


def _request_or_404(request_id: int) -> RightsRequest:
    found = services.get(db.session(), request_id)
    if found is None:
        abort(404)
    return found


@bp.route(f"/rights/requests/<{ID}:request_id>", methods=["GET", "POST"])
@access.exercise_of_rights
def verify(request_id: int):
    rights_request = _request_or_404(request_id)
    if rights_request.status != "unverified":  # its page tells nothing once verified
        abort(404)
    form = forms.CodeForm()
    context: dict[str, Any] = {
        "form": form, "rights_request": rights_request, "kind_labels": forms.KIND_LABELS,
        "due": services.due_on(rights_request), "cnil": CNIL_COMPLAINT}
    if not form.validate_on_submit():
        return render("rights/verify.html", outcome=None,
                      status=422 if form.is_submitted() and form.errors else 200, **context)
    result = services.verify(db.session(), rights_request, form.code.data)
    if result.outcome == "wrong":
        form.code.errors = [_("This code is not the one we sent. Attempts left: %(num)d.",
                              num=result.attempts_left)]
        return render("rights/verify.html", outcome=None, status=422, **context)
    if result.outcome == "duplicate":
        assert result.existing is not None
        return render("rights/verify.html", outcome="duplicate", status=409,
                      existing=result.existing, existing_due=services.due_on(result.existing),
                      **context)
    status = 200 if result.outcome == "verified" else 410
    context["due"] = services.due_on(rights_request)
    return render("rights/verify.html", outcome=result.outcome, status=status, **context)


@bp.get(f"/rights/requests/<{ID}:request_id>/answer/<token>")
def answer_download(request_id: int, token: str):
    session = db.session()
    participant = (services.download(session, _request_or_404(request_id), token)
                   if len(token) <= 100 else None)
    if participant is None:
        abort(404)
    return Response(services.export_json(session, participant, _language()),
                    mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="my-data.json"',
                             "Cache-Control": "no-store"})


# --- the tenant's inbox --------------------------------------------------------------------


@bp.get("/admin/rights")
@access.require_role("manager")
def inbox():
    show = "completed" if request.args.get("show") == "completed" else "open"
    found = services.inbox(db.session(), show=show, page=requested_page())
    return render("rights/inbox.html", block="results", requests=found, show=show,
                  kind_labels=forms.KIND_LABELS,
                  due_on=services.due_on, days_left=services.days_left)


def _detail(rights_request: RightsRequest, status: int = 200,
            extend: forms.ExtendForm | None = None,
            complete: forms.CompleteForm | None = None) -> Response:
    session = db.session()
    return render("rights/detail.html", status=status, r=rights_request,
                  steps=services.steps(session, rights_request), kind_labels=forms.KIND_LABELS,
                  step_labels=services.STEPS, evidence_labels=services.EVIDENCE,
                  due=services.due_on(rights_request),
                  days_left=services.days_left(rights_request),
                  can_extend=services.can_extend(rights_request),
                  can_complete=rights_request.status == "open" and (
                      rights_request.kind != "erasure" or access.has_role("admin")),
                  extend=extend or forms.ExtendForm(formdata=None),
                  complete=complete or forms.CompleteForm(formdata=None))


@bp.get(f"/admin/rights/<{ID}:request_id>")
@writes  # the read is logged
@access.require_role("manager")
def detail(request_id: int):
    rights_request = _request_or_404(request_id)
    audit.record(db.session(), member_id=access.member_id(), action="rights_request.read",
                 target=f"rights_request:{request_id}")
    return _detail(rights_request)


@bp.post(f"/admin/rights/<{ID}:request_id>/extend")
@access.exercise_of_rights
@access.require_role("manager")
def extend(request_id: int):
    rights_request = _request_or_404(request_id)
    form = forms.ExtendForm()
    if not services.can_extend(rights_request):
        form.reason.errors = [_("This request can no longer be extended: an extension is "
                                "possible once, within the first month.")]
        return _detail(rights_request, 409, extend=form)
    if not form.validate_on_submit():
        return _detail(rights_request, 422, extend=form)
    services.extend(db.session(), rights_request, months=int(form.months.data),
                    reason=form.reason.data, member_id=access.member_id())
    enqueue(tasks.send_extension, db.current_slug(), rights_request.id)
    flash(_("The request is extended; the requester is told why by e-mail."), "rights")
    return redirect(url_for(".detail", request_id=request_id), code=303)


@bp.post(f"/admin/rights/<{ID}:request_id>/complete")
@access.exercise_of_rights
@access.require_role("manager")
def complete(request_id: int):
    rights_request = _request_or_404(request_id)
    if rights_request.kind == "erasure" and not access.has_role("admin"):
        abort(403)
    form = forms.CompleteForm()
    if rights_request.status != "open":
        form.note.errors = [_("This request is already answered.")]
        return _detail(rights_request, 409, complete=form)
    if not form.validate_on_submit():
        return _detail(rights_request, 422, complete=form)
    session = db.session()
    if rights_request.kind in ("access", "portability") and rights_request.participant_id:
        audit.record(session, member_id=access.member_id(), action="participant.export",
                     target=f"participant:{rights_request.participant_id}")
    token = services.complete(session, rights_request, note=form.note.data,
                              member_id=access.member_id(), uphold=form.uphold.data != "no")
    enqueue(tasks.send_completed, db.current_slug(), rights_request.id, token)
    flash(_("The request is answered; the requester is told by e-mail."), "rights")
    return redirect(url_for(".detail", request_id=request_id), code=303)


# --- staff erasure and the access log ------------------------------------------------------


@bp.route(f"/admin/participants/<{ID}:participant_id>/erase", methods=["GET", "POST"])
@access.exercise_of_rights
@access.require_role("admin")
def erase(participant_id: int):
    session = db.session()
    participant = participants.get(session, participant_id)
    if participant is None:
        abort(404)
    form = forms.EraseForm()
    if request.method == "GET" or not form.validate_on_submit() or not form.confirm.data:
        if request.method == "POST" and not form.confirm.data and not form.errors:
            form.confirm.errors = [_("Tick the box to confirm the erasure.")]
        status = 200 if request.method == "GET" else 422
        return render("rights/erase.html", status=status, form=form, participant=participant)
    services.erase(session, participant)
    audit.record(session, member_id=access.member_id(), action="participant.erase",
                 target=f"participant:{participant_id}")
    return redirect(url_for(".erased"), code=303)


@bp.get(f"/admin/participants/<{ID}:participant_id>/kept")
@writes  # the read is logged
@access.require_role("admin")
def kept(participant_id: int):
    """What is kept about a participant and why, for admins: the facts of their own privacy
    page, from the same function (PRODUCT.md, "Retention and deletion": admins see, per
    participant, what is kept and why); logged like every staff read of a full record."""
    session = db.session()
    participant = participants.get(session, participant_id)
    if participant is None:
        abort(404)
    audit.record(session, member_id=access.member_id(), action="participant.kept",
                 target=f"participant:{participant_id}")
    return render("rights/kept.html", participant=participant,
                  facts=services.privacy_facts(session, participant, _language(),
                                               settings.languages(session)[0]),
                  **_fact_labels())


@bp.get("/admin/participants/erased")
@access.require_role("admin")
def erased():
    return render("rights/erased.html")


@bp.get("/admin/access-log")
@access.require_role("admin")
def access_log():
    session = db.session()
    entries = audit.page(session, requested_page())
    return render("rights/access_log.html", block="results", entries=entries,
                  action_label=audit.action_label, target_label=audit.target_label)
