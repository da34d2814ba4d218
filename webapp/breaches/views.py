"""Breach pages. Operators with the admin or privacy role record incidents and follow each
organisation's clocks (support: 403, as for the other registers); an organisation's owners and
admins see its incidents, edit the CNIL draft and send the participant notice (other members:
403)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from core.clock import utcnow
from core.jobs import enqueue
from core.web.errors import error_page
from core.web.htmx import render, template_globals
from core.web.pagination import requested_page
from core.web.spreadsheet import csv_line
from webapp import db
from webapp.access import PRIVACY_ROLES, member_required, operator_required
from webapp.breaches import services
from webapp.breaches.forms import BreachForm, CnilDraftForm, NoticeForm
from webapp.breaches.models import AffectedTenant, Breach, BreachEvent, Scope
from webapp.breaches.tasks import notify_tenant, send_notice
from webapp.organisations import services as org_services

bp = Blueprint("breaches", __name__, template_folder="templates")

TENANT_ROLES = ("owner", "admin")
NOTICE_PREFIX = "notice"  # both forms share a page and field names: ids must differ


def duration(delta: timedelta) -> str:
    """"5 h 07 min" for a clock; the sign is the caller's (remaining or late)."""
    minutes = int(abs(delta).total_seconds()) // 60
    return _("%(hours)d h %(minutes)02d min", hours=minutes // 60, minutes=minutes % 60)


template_globals(bp, breach_actions=services.ACTIONS, duration=duration,
                 scope_label=services.scope_label)


def refused(exc: services.BreachError):
    titles = {404: _("Not found"), 409: _("Not possible any more")}
    return error_page(exc.status, title=titles.get(exc.status), message=str(exc))


def _csv(events: list[BreachEvent], filename: str) -> Response:
    names = {t.id: t.name for t in org_services.all_tenants(db.session())}
    body = csv_line([_("Time (UTC)"), _("Incident"), _("Organisation"), _("Step"), _("By"),
                     _("Detail")])
    body += "".join(csv_line([
        e.at.strftime("%Y-%m-%d %H:%M:%S"), str(e.breach_id),
        names.get(e.tenant_id, "") if e.tenant_id else "", str(services.ACTIONS[e.action]),
        e.actor, e.detail]) for e in events)
    return Response("\ufeff" + body, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


# --- operators -------------------------------------------------------------------------------


@bp.get("/ops/breaches")
@operator_required(*PRIVACY_ROLES)
def ops_index():
    session = db.session()
    events = services.register_page(session, requested_page("steps"))
    named = {e.tenant_id for e in events if e.tenant_id}
    found = services.breaches(session, requested_page())
    return render("breaches/ops_index.html", breaches=found, events=events,
                  notified=services.notified_counts(session, [b.id for b in found]),
                  now=utcnow(), names={tenant_id: t.name for tenant_id, t in
                                       org_services.tenants_by_id(session, named).items()})


def _new_page(form: BreachForm, status: int = 200):
    form.tenants.choices = [SelectChoice(t.id, t.name)
                            for t in services.candidates(db.session())]
    return render("breaches/ops_new.html", form=form, status=status)


@bp.get("/ops/breaches/new")
@operator_required(*PRIVACY_ROLES)
def ops_new():
    form = BreachForm(formdata=None)
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    form.aware_at.data = utcnow().astimezone(zone).replace(tzinfo=None, second=0,
                                                               microsecond=0)
    return _new_page(form)


@bp.post("/ops/breaches/new")
@operator_required(*PRIVACY_ROLES)
def ops_create():
    form = BreachForm()
    if not form.validate_on_submit():
        return _new_page(form, status=422)
    facts = services.Facts(
        nature=form.nature.data.strip(), data_categories=form.data_categories.data.strip(),
        people_estimate=form.people_estimate.data, records_estimate=form.records_estimate.data,
        consequences=form.consequences.data.strip(), measures=form.measures.data.strip(),
        aware_at=form.aware_at_utc(), scope=Scope(form.scope.data),
        component=form.component.data or "", tenant_ids=list(form.tenants.data or []))
    try:
        breach = services.record(db.session(), facts, current_user)
    except services.BreachError as exc:
        form[exc.field or "nature"].errors = [str(exc)]
        return _new_page(form, status=422)
    for affected in breach.affected:
        enqueue(notify_tenant, affected.id)
    flash(_("The incident is recorded; each affected organisation is being notified."),
          "breaches")
    return redirect(url_for(".ops_show", breach_id=breach.id), code=303)


@bp.get("/ops/breaches/<int:breach_id>")
@operator_required(*PRIVACY_ROLES)
def ops_show(breach_id: int):
    session = db.session()
    breach = session.get(Breach, breach_id)
    if breach is None:
        abort(404)
    now = utcnow()
    # A platform-wide incident affects every organisation: both lists come in pages.
    affected = services.affected_page(session, breach.id, requested_page())
    events = services.register_page(session, requested_page("steps"), breach_id=breach.id)
    named = {e.tenant_id for e in events if e.tenant_id}
    return render("breaches/ops_show.html", breach=breach, now=now, affected=affected,
                  clocks={a.id: (services.notify_clock(a, now), services.cnil_clock(a, now))
                          for a in affected},
                  events=events, names=services.affected_names(session, breach.id, named))


@bp.get("/ops/breaches/register.csv")
@operator_required(*PRIVACY_ROLES)
def ops_register_csv() -> Response:
    return _csv(services.register(db.session()), "parvis-breach-register.csv")


# --- the organisation ----------------------------------------------------------------------------


@bp.get("/organisations/<slug>/breaches")
@member_required(*TENANT_ROLES)
def tenant_index(slug: str):
    session = db.session()
    now = utcnow()
    affected = services.affected_of(session, g.org.id)
    return render("breaches/tenant_index.html", affected=affected, now=now,
                  clocks={a.id: services.cnil_clock(a, now) for a in affected},
                  events=services.register(session, tenant_id=g.org.id))


def _affected(breach_id: int) -> AffectedTenant:
    try:
        return services.affected_one(db.session(), g.org.id, breach_id)
    except services.BreachError:
        abort(404)


def _tenant_page(affected: AffectedTenant, cnil_form: CnilDraftForm | None = None,
                 notice_form: NoticeForm | None = None, status: int = 200):
    if cnil_form is None:
        cnil_form = CnilDraftForm(formdata=None, data=services.cnil_draft(affected)
                                  | {"late_reason": affected.late_reason})
    if notice_form is None:
        notice_form = NoticeForm(formdata=None, prefix=NOTICE_PREFIX,
                                 data=services.participant_notice(affected))
    now = utcnow()
    return render("breaches/tenant_show.html", status=status, affected=affected,
                  breach=affected.breach, cnil_form=cnil_form, notice_form=notice_form,
                  notify=services.notify_clock(affected, now),
                  cnil=services.cnil_clock(affected, now), now=now,
                  events=services.register(db.session(), breach_id=affected.breach_id,
                                           tenant_id=g.org.id))


@bp.get("/organisations/<slug>/breaches/<int:breach_id>")
@member_required(*TENANT_ROLES)
def tenant_breach(slug: str, breach_id: int):
    return _tenant_page(_affected(breach_id))


def _values(form: CnilDraftForm | NoticeForm) -> dict[str, str]:
    return {name: form[name].data or "" for name in form.data if name != "csrf_token"}


@bp.post("/organisations/<slug>/breaches/<int:breach_id>/cnil")
@member_required(*TENANT_ROLES)
def save_cnil(slug: str, breach_id: int):
    affected = _affected(breach_id)
    form = CnilDraftForm()
    if not form.validate_on_submit():
        return _tenant_page(affected, cnil_form=form, status=422)
    filing = request.form.get("action") == "file"
    try:
        if filing:
            services.record_cnil_filed(db.session(), affected, _values(form),
                                       form.late_reason.data or "", current_user.email)
        else:
            services.save_cnil_draft(db.session(), affected, _values(form), current_user.email)
    except services.BreachError as exc:
        if exc.field:
            form[exc.field].errors = [str(exc)]
            return _tenant_page(affected, cnil_form=form, status=422)
        return refused(exc)
    flash(_("Recorded: you notified the CNIL.") if filing else _("Draft saved."), "breaches")
    return redirect(url_for(".tenant_breach", slug=slug, breach_id=breach_id), code=303)


@bp.post("/organisations/<slug>/breaches/<int:breach_id>/notice")
@member_required(*TENANT_ROLES)
def save_notice(slug: str, breach_id: int):
    affected = _affected(breach_id)
    form = NoticeForm(prefix=NOTICE_PREFIX)
    if not form.validate_on_submit():
        return _tenant_page(affected, notice_form=form, status=422)
    sending = request.form.get("action") == "send"
    try:
        if sending:
            services.send_notice(db.session(), affected, _values(form), current_user.email)
        else:
            services.save_notice(db.session(), affected, _values(form), current_user.email)
    except services.BreachError as exc:
        if exc.field:
            form[exc.field].errors = [str(exc)]
            return _tenant_page(affected, notice_form=form, status=422)
        return refused(exc)
    if sending:
        enqueue(send_notice, slug, affected.id)
        flash(_("The notice is being sent to your confirmed participants."), "breaches")
    else:
        flash(_("Notice saved."), "breaches")
    return redirect(url_for(".tenant_breach", slug=slug, breach_id=breach_id), code=303)


@bp.get("/organisations/<slug>/breaches.csv")
@member_required(*TENANT_ROLES)
def tenant_register_csv(slug: str) -> Response:
    return _csv(services.register(db.session(), tenant_id=g.org.id),
                f"breach-register-{slug}.csv")
