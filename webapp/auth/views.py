from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user

from webapp import db
from webapp.auth import services
from webapp.auth.forms import LoginForm
from webapp.extensions import login_manager
from webapp.organisations.services import tenants_by_id
from webapp.web.errors import error_page
from webapp.web.htmx import render
from webapp.web.i18n import safe_next

bp = Blueprint("auth", __name__, template_folder="templates")


@login_manager.user_loader
def load_user(login_id: str):  # type: ignore[no-untyped-def]
    return services.load_session(db.session(), login_id)


@login_manager.unauthorized_handler
def unauthorized():  # type: ignore[no-untyped-def]
    # The 401 handler (webapp.web.errors) sends browsers to the login page, htmx included.
    abort(401)


def _client_ip() -> str:
    # Behind a proxy, configure werkzeug's ProxyFix so remote_addr is the client's address.
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        result = services.authenticate(db.session(), form.email.data, form.password.data,
                                       _client_ip())
        if result.throttled:
            minutes = max(result.retry_after // 60, 1)
            return error_page(429, message=ngettext(
                "Too many failed sign-in attempts. Please try again in %(num)d minute.",
                "Too many failed sign-in attempts. Please try again in %(num)d minutes.",
                minutes), retry_after=result.retry_after)
        if result.account is not None:
            services.start_session(db.session(), result.account)
            login_user(result.account)
            return redirect(safe_next(form.next.data, url_for("auth.home")), code=303)
        # One message for unknown e-mail and wrong password: no account enumeration.
        form.password.errors = [_("E-mail address or password is incorrect.")]
        return render("auth/login.html", form=form, status=422)
    status = 422 if form.errors else 200
    return render("auth/login.html", form=form, status=status)


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        services.end_session(db.session(), current_user.get_id())
    logout_user()
    return redirect(url_for("auth.login"), code=303)


@bp.get("/account")
@login_required
def home():  # type: ignore[no-untyped-def]
    memberships = sorted(current_user.memberships, key=lambda m: m.tenant_id)
    tenants = tenants_by_id(db.session(), [m.tenant_id for m in memberships])
    return render("auth/home.html", memberships=memberships, tenants=tenants,
                  is_operator=current_user.operator_role is not None)
