from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask import session as cookie
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user

from core.clock import utcnow
from core.db import writes
from core.extensions import login_manager
from core.web.errors import error_page
from core.web.htmx import render
from core.web.i18n import safe_next
from webapp import db
from webapp.auth import services
from webapp.auth.forms import CodeForm, ConfirmForm, LoginForm, PasswordChangeForm, SetupForm
from webapp.auth.models import Account
from webapp.organisations.services import tenants_by_id

bp = Blueprint("auth", __name__, template_folder="templates")

# Between the password and the code, the signed cookie holds who passed the first step, for
# this long; no login session exists until the code is right.
PENDING = "pending_two_factor"
PENDING_SECONDS = 300
# Reachable by an operator who has not set up two-factor sign-in yet.
SETUP_EXEMPT = {"auth.two_factor", "auth.logout", "static", "i18n.switch"}


@login_manager.unauthorized_handler
def unauthorized():
    # The 401 handler (core.web.errors) sends browsers to the login page, htmx included.
    abort(401)


def _client_ip() -> str:
    # Behind a proxy, configure werkzeug's ProxyFix so remote_addr is the client's address.
    return request.remote_addr or "unknown"


def _too_many(retry_after: int):
    minutes = max(retry_after // 60, 1)
    return error_page(429, message=ngettext(
        "Too many failed sign-in attempts. Please try again in %(num)d minute.",
        "Too many failed sign-in attempts. Please try again in %(num)d minutes.",
        minutes), retry_after=retry_after)


def _signed_in(account: Account, next_url: str | None):
    services.start_session(db.session(), account)
    login_user(account)
    return redirect(safe_next(next_url, url_for("auth.home")), code=303)


@bp.before_app_request
def operators_set_up_two_factor():
    """Operators reach nothing but the setup page until two-factor sign-in is on."""
    # Only signed-in browsers carry "_user_id": other requests skip loading the user.
    if "_user_id" not in cookie or request.endpoint in SETUP_EXEMPT:
        return None
    if (current_user.is_authenticated and current_user.operator_role is not None
            and not current_user.has_two_factor):
        return redirect(url_for("auth.two_factor", next=request.full_path.rstrip("?")))
    return None


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        result = services.authenticate(db.session(), form.email.data, form.password.data,
                                       _client_ip())
        if result.throttled:
            return _too_many(result.retry_after)
        if result.account is not None:
            if result.account.has_two_factor:
                cookie[PENDING] = {"account": result.account.id, "next": form.next.data or "",
                                   "until": utcnow().timestamp() + PENDING_SECONDS}
                return redirect(url_for("auth.login_code"), code=303)
            return _signed_in(result.account, form.next.data)
        # One message for unknown e-mail and wrong password: no account enumeration.
        form.password.errors = [_("E-mail address or password is incorrect.")]
        return render("auth/login.html", form=form, status=422)
    status = 422 if form.errors else 200
    return render("auth/login.html", form=form, status=status)


def _pending_account() -> Account | None:
    pending = cookie.get(PENDING)
    if not isinstance(pending, dict) or pending.get("until", 0) < utcnow().timestamp():
        return None
    account = db.session().get(Account, pending.get("account"))
    return account if account is not None and account.is_active else None


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    account = _pending_account()
    if account is None or not account.has_two_factor:
        cookie.pop(PENDING, None)
        return redirect(url_for("auth.login"), code=303)
    form = CodeForm()
    if form.validate_on_submit():
        result = services.check_second_factor(db.session(), account, form.code.data,
                                               _client_ip())
        if result.throttled:
            return _too_many(result.retry_after)
        if result.ok:
            next_url = cookie.pop(PENDING)["next"]
            if result.recovery_used:
                left = services.recovery_codes_left(db.session(), account)
                flash(ngettext("You signed in with a recovery code: %(num)d code left.",
                               "You signed in with a recovery code: %(num)d codes left.",
                               left), "account")
            return _signed_in(account, next_url)
        form.code.errors = [_("This code is not valid. Codes change every 30 seconds and "
                              "each can be used once.")]
        return render("auth/login_code.html", form=form, status=422)
    return render("auth/login_code.html", form=form, status=422 if form.errors else 200)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        services.end_session(db.session(), current_user.get_id())
    logout_user()
    cookie.pop(PENDING, None)
    return redirect(url_for("auth.login"), code=303)


@bp.get("/account")
@login_required
def home():
    memberships = sorted(current_user.memberships, key=lambda m: m.tenant_id)
    tenants = tenants_by_id(db.session(), [m.tenant_id for m in memberships])
    return render("auth/home.html", memberships=memberships, tenants=tenants,
                  is_operator=current_user.operator_role is not None)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordChangeForm(current_user.email)
    if form.validate_on_submit():
        if not services.check_password(current_user, form.current_password.data):
            form.current_password.errors = [_("This is not your current password.")]
        else:
            # Every other browser signed in to this account is signed out.
            services.change_password(db.session(), current_user, form.new_password.data)
            flash(_("Your password has been changed. Your other sessions have been signed "
                    "out."), "account")
            return redirect(url_for("auth.home"), code=303)
    return render("auth/password.html", form=form, status=422 if form.errors else 200)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@writes  # the GET stores a new secret
@login_required
def two_factor():
    """Set up two-factor sign-in (QR code, first code, recovery codes) or see that it is on."""
    if current_user.has_two_factor:
        return _two_factor_page(ConfirmForm(), ConfirmForm(prefix="new"))
    form = SetupForm()
    next_url = request.args.get("next", "")
    if form.validate_on_submit():
        codes = services.confirm_two_factor(db.session(), current_user, form.code.data)
        if codes is not None:
            # Shown this once, in this answer: only their hashes are kept.
            return render("auth/recovery_codes.html", codes=codes,
                          next_url=safe_next(next_url, url_for("auth.home")))
        form.code.errors = [_("This code is not valid. Check that your phone's clock is "
                              "right and enter the code shown now.")]
    secret = services.begin_two_factor(current_user)
    return render("auth/two_factor.html", form=form, enabled=False, secret=secret,
                  qr=services.qr_svg(services.provisioning_uri(current_user)),
                  required=current_user.operator_role is not None,
                  status=422 if form.errors else 200)


def _confirmed(form: ConfirmForm) -> bool:
    """The password and a code (from the app, or a recovery code) check out; else errors."""
    if not form.validate_on_submit():
        return False
    session = db.session()
    if not services.check_password(current_user, form.password.data):
        form.password.errors = [_("This is not your current password.")]
    elif not (services.verify_totp(session, current_user, form.code.data)
              or services.use_recovery_code(session, current_user, form.code.data)):
        form.code.errors = [_("This code is not valid.")]
    else:
        return True
    return False


def _two_factor_page(disable: ConfirmForm, regenerate: ConfirmForm, status: int = 200):
    return render("auth/two_factor.html", form=disable, regenerate=regenerate, enabled=True,
                  codes_left=services.recovery_codes_left(db.session(), current_user),
                  status=status)


@bp.post("/account/two-factor/disable")
@login_required
def disable_two_factor():
    if not current_user.has_two_factor:
        return redirect(url_for("auth.two_factor"), code=303)
    form = ConfirmForm()
    if current_user.operator_role is not None:
        form.form_errors.append(_("Two-factor sign-in is mandatory for platform operators."))
    elif _confirmed(form):
        services.disable_two_factor(db.session(), current_user)
        flash(_("Two-factor sign-in is off."), "account")
        return redirect(url_for("auth.home"), code=303)
    return _two_factor_page(form, ConfirmForm(prefix="new", formdata=None), 422)


@bp.post("/account/two-factor/recovery-codes")
@login_required
def new_recovery_codes():
    """Ten new recovery codes in place of the old ones (all of them, used or not)."""
    if not current_user.has_two_factor:
        return redirect(url_for("auth.two_factor"), code=303)
    form = ConfirmForm(prefix="new")
    if _confirmed(form):
        codes = services.new_recovery_codes(db.session(), current_user)
        return render("auth/recovery_codes.html", codes=codes, replaced=True,
                      next_url=url_for("auth.two_factor"))
    return _two_factor_page(ConfirmForm(formdata=None), form, 422)
