"""Retention pages: a deactivated account's owner takes it back after signing in; (staff) the
retention matrix, what expires soon, and the receipts of the sweeps."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from tenants import db
from tenants.participants import services as participants
from tenants.retention import services
from webapp.web.htmx import render

bp = Blueprint("retention", __name__, template_folder="templates")
bp.add_app_template_global(lambda moment: format_date(moment, "long"), "retention_date")


# --- a deactivated account --------------------------------------------------------------------


@bp.route("/account/reactivate", methods=["GET", "POST"])
def reactivate():  # type: ignore[no-untyped-def]
    """Reached from the sign-in form with the right password for a deactivated account."""
    session = db.session()
    form = FlaskForm()
    if request.method == "POST" and form.validate_on_submit():
        person = participants.held_for_reactivation(session, spend=True)
        if person is not None and services.reactivate(session, person):
            participants.sign_in(session, person)
            flash(_("Welcome back: your account is active again."), "profile")
            return redirect(url_for("tenant.participants.profile"), code=303)
    person = participants.held_for_reactivation(session)
    if person is None or person.is_active:
        return redirect(url_for("tenant.participants.login"), code=303)
    erase_at = services.erasure_due(session, person)
    assert erase_at is not None
    return render("retention/reactivate.html", form=form, person=person, erase_at=erase_at,
                  window_open=erase_at > db.utcnow(),
                  status=200 if request.method == "GET" else 422)
