"""The operators' page of the platform's sign-in records: what is stored, how long it is kept
(the setting, within the bounds of the organisations' connection logs) and the receipts of the
daily sweep. For the admin and privacy roles, as the privacy team runs the registers."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.web.htmx import render
from core.web.pagination import requested_page
from webapp import db
from webapp.access import PRIVACY_ROLES, operator_required
from webapp.retention import services
from webapp.retention.forms import SignInRetentionForm

bp = Blueprint("platform_retention", __name__, template_folder="templates")


def _page(form: SignInRetentionForm, status: int = 200) -> Response:
    session = db.session()
    low, high = services.KIND.bounds
    form.months.description = _("From %(low)d to %(high)d: the bounds of the organisations' "
                                "connection logs.", low=low, high=high)
    return render("retention/ops_sign_in_records.html", status=status, form=form,
                  rule=services.sign_in_rule(session), facts=services.facts(session),
                  receipts=services.receipts(session, requested_page()))


@bp.get("/ops/sign-in-records")
@operator_required(*PRIVACY_ROLES)
def ops_page():
    rule = services.sign_in_rule(db.session())
    return _page(SignInRetentionForm(formdata=None, data={"months": rule.duration}))


@bp.post("/ops/sign-in-records")
@operator_required(*PRIVACY_ROLES)
def ops_set():
    form = SignInRetentionForm()
    if form.validate_on_submit():
        try:
            services.set_sign_in_months(db.session(), form.months.data, current_user)
        except services.SettingError as exc:
            form.months.errors = [*form.months.errors, str(exc)]
        else:
            flash(_("Saved: the next daily sweeps and the register follow this rule."),
                  "retention")
            return redirect(url_for(".ops_page"), code=303)
    return _page(form, status=422)
