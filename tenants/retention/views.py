"""Retention pages: a deactivated account's owner takes it back after signing in; (staff) the
retention matrix, what expires soon, and the receipts of the sweeps."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from core.clock import utcnow
from core.web.htmx import render, wants_fragment
from core.web.pagination import requested_page
from tenants import access, db
from tenants.participants import services as participants
from tenants.retention import services, sweep
from tenants.retention.forms import RuleForm

bp = Blueprint("retention", __name__, template_folder="templates")
bp.add_app_template_global(lambda moment: format_date(moment, "long"), "retention_date")


# --- a deactivated account --------------------------------------------------------------------


@bp.route("/account/reactivate", methods=["GET", "POST"])
def reactivate():
    """Reached from the sign-in form with the right password for a deactivated account."""
    session = db.session()
    person = participants.held_for_reactivation(session)
    if person is None or person.is_active:
        return redirect(url_for("tenant.participants.login"), code=303)
    erase_at = services.erasure_due(session, person)
    assert erase_at is not None
    window_open = erase_at > utcnow()
    form = FlaskForm()
    if window_open and form.validate_on_submit():
        participants.held_for_reactivation(session, spend=True)
        services.reactivate(session, person)
        participants.sign_in(session, person)
        flash(_("Welcome back: your account is active again."), "profile")
        return redirect(url_for("tenant.participants.profile"), code=303)
    return render("retention/reactivate.html", form=form, person=person, erase_at=erase_at,
                  window_open=window_open, status=200 if request.method == "GET" else 422)


# --- staff: the matrix, the dry run, the receipts ----------------------------------------------


UNITS = {"days": _l("days"), "months": _l("months"), "years": _l("years")}


def _rule_form(key: str, rule: services.Rule | None = None) -> RuleForm:
    """The form of one row: the posted one, or (``rule``) the row as it is."""
    form = (RuleForm(prefix=key) if rule is None
            else RuleForm(prefix=key, formdata=None, data={"duration": rule.duration}))
    kind = services.BY_KEY[key]
    form.duration.label.text = _("Keep for (%(unit)s)", unit=UNITS[kind.unit])
    form.duration.description = _("From %(low)d to %(high)d: the platform's limits.",
                                  low=kind.bounds[0], high=kind.bounds[1])
    return form


def _matrix(forms: dict[str, RuleForm], *, saved: str = "", status: int = 200) -> Response:
    return render("retention/matrix.html", status=status, rules=services.rules(db.session()),
                  forms=forms, saved=saved)


@bp.get("/admin/retention")
@access.require_role("admin")
def matrix():
    rules = services.rules(db.session())
    return _matrix({key: _rule_form(key, rule) for key, rule in rules.items()},
                   saved=request.args.get("saved", ""))


@bp.post("/admin/retention/<kind>")
@access.require_role("admin")
def set_rule(kind: str):
    """Change one row; refused with the reason (and nothing changed) outside the bounds."""
    session = db.session()
    if kind not in services.BY_KEY:
        abort(404)
    form = _rule_form(kind)
    status = 422
    before = services.rules(session)
    if form.validate():
        try:
            services.set_rule(session, kind, form.duration.data, before[kind].action)
            status = 200
        except services.RuleError as refused:
            form.duration.errors = [str(refused)]
    if status == 200 and not wants_fragment():
        return redirect(url_for(".matrix", saved=kind), code=303)
    if wants_fragment():
        rules = services.rules(session)
        body = render_template("retention/_rule.html", rule=rules[kind], form=form,
                               saved=kind if status == 200 else "")
        # A row the change moved along (answers follow a shorter duration of registrations)
        # is swapped too, out of band.
        for key, rule in rules.items():
            if key != kind and rule != before[key]:
                body += render_template("retention/_rule.html", rule=rule, oob=True,
                                        form=_rule_form(key, rule), saved=key)
        return make_response(body, status)
    rules = services.rules(session)
    forms = {key: form if key == kind else _rule_form(key, rule) for key, rule in rules.items()}
    return _matrix(forms, status=status)


@bp.get("/admin/retention/upcoming")
@access.require_role("admin")
def upcoming():
    """The dry run: what the sweeps would handle within 30 days, counted, nothing changed."""
    steps = sweep.upcoming(db.session())
    by_kind: dict[str, int] = {}
    for step, rows in steps:
        by_kind[step.kind] = by_kind.get(step.kind, 0) + rows
    return render("retention/upcoming.html", steps=steps, by_kind=by_kind, days=30,
                  kinds=services.BY_KEY)


@bp.get("/admin/retention/receipts")
@access.require_role("admin")
def receipts():
    runs = services.receipts(db.session(), requested_page())
    return render("retention/receipts.html", runs=runs, kinds=services.BY_KEY,
                  step_label=sweep.step_label, duration_text=services.duration_text,
                  when=lambda moment: format_datetime(moment))
