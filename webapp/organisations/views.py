"""The operator console: the tenant registry. Operators never see tenant data from here."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, redirect, url_for
from flask_login import current_user, login_required

from webapp import db
from webapp.organisations import services
from webapp.organisations.forms import StatusForm, TenantForm
from webapp.organisations.models import TenantStatus
from webapp.web.htmx import render

bp = Blueprint("organisations", __name__, url_prefix="/ops", template_folder="templates")


def operator_required(view: Callable) -> Callable:
    @functools.wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user.operator_role is None:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _page(form: TenantForm, status: int = 200):  # type: ignore[no-untyped-def]
    return render("organisations/index.html", block="registry", status=status, form=form,
                  tenants=services.all_tenants(db.session()), status_form=StatusForm())


@bp.get("/tenants")
@operator_required
def index():  # type: ignore[no-untyped-def]
    return _page(TenantForm())


@bp.post("/tenants")
@operator_required
def create():  # type: ignore[no-untyped-def]
    form = TenantForm()
    if form.validate_on_submit():
        try:
            services.create(db.session(), slug=form.slug.data.strip(), name=form.name.data,
                            default_language=form.default_language.data)
        except services.TenantError as exc:
            field = form[exc.field]
            field.errors = [*field.errors, str(exc)]
        else:
            return redirect(url_for(".index"), code=303)
    return _page(form, status=422)


@bp.post("/tenants/<slug>/status")
@operator_required
def change_status(slug: str):  # type: ignore[no-untyped-def]
    form = StatusForm()
    tenant = services.get(db.session(), slug)
    if tenant is None:
        abort(404)
    if not form.validate_on_submit():
        abort(400)
    services.set_status(db.session(), tenant, TenantStatus(form.status.data))
    return redirect(url_for(".index"), code=303)
