"""Members pages: the tenant's members page (owners and admins; everyone else gets 403), the
invitation link, and the tenant's two-factor requirement on its admin pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, request, url_for
from flask import session as cookie
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from wtforms import SelectChoice

from core.jobs import enqueue
from core.web.errors import error_page
from core.web.htmx import render
from core.web.i18n import safe_next
from tenants import api as tenants_api
from webapp import access, db, tenancy
from webapp.auth import services as auth_services
from webapp.auth.models import Membership
from webapp.billing import services as billing
from webapp.members import services
from webapp.members.forms import (
    AcceptForm,
    InviteForm,
    PolicyForm,
    RoleForm,
    TransferForm,
    role_choices,
)
from webapp.members.models import Invitation, MemberPolicy
from webapp.members.tasks import send_invitation
from webapp.organisations.models import Tenant

# Mounted under the /t/<tenant> parent (webapp.tenancy): endpoints are "tenant.members.*".
bp = Blueprint("members", __name__, url_prefix="/admin/members", template_folder="templates")
invitations_bp = Blueprint("invitations", __name__, url_prefix="/invitations",
                           template_folder="templates")


def _administered() -> tuple[str, bool] | None:
    """The tenant whose administration this request opens for one of its members, and whether
    it requires two-factor sign-in: its admin pages (``/t/<slug>/admin/…``, from the request's
    standing) or its organisation pages (``/organisations/<slug>/…``: contract and export
    bundle, subscription, processor duties, breaches, support)."""
    if g.get("tenant_role"):
        admin = request.path.startswith(f"/t/{g.tenant.slug}/admin")
        here = tenancy.standing()
        return (g.tenant.name, here.requires_two_factor) if admin and here else None
    slug = (request.view_args or {}).get("slug")
    if not slug or not request.path.startswith(f"/organisations/{slug}/"):
        return None
    try:
        tenants_api.validate_slug(slug)  # nothing else reaches the database
    except tenants_api.InvalidSlug:
        return None
    found = db.session().execute(select(Tenant.name, MemberPolicy.require_two_factor).join(
        Membership, Membership.tenant_id == Tenant.id).outerjoin(
        MemberPolicy, MemberPolicy.tenant_id == Tenant.id).where(
        Tenant.slug == slug, Membership.account_id == current_user.id)).first()
    return (found.name, bool(found.require_two_factor)) if found else None


@bp.before_app_request
def members_set_up_two_factor():
    """A tenant that requires two-factor sign-in: its members without it are sent to set it
    up before any page that administers it."""
    if not current_user.is_authenticated or current_user.has_two_factor:
        return None
    tenant = _administered()
    if tenant is None or not tenant[1]:
        return None
    flash(_("%(name)s requires two-factor sign-in for its members. Set it up to continue.",
            name=tenant[0]), "two-factor")
    return redirect(url_for("auth.two_factor", next=request.full_path.rstrip("?")))


def _actor(*roles: str) -> Membership:
    """The signed-in member of this tenant holding one of ``roles`` (by default: owner or
    admin); anyone else is refused."""
    return access.tenant_member(*(roles or services.MANAGERS))


def _members_limit() -> int | None:
    """The plan's members limit (None: unlimited), from billing's entitlements."""
    return billing.entitlements(db.session(), g.tenant_id).members


def _page(actor: Membership, *, status: int = 200, error: str | None = None,
          limit_reached: bool = False, **forms: Any):
    session = db.session()
    grantable = services.grantable_roles(actor.role)
    invite_form = forms.get("invite_form") or InviteForm()
    invite_form.role.choices = role_choices(grantable)
    members = services.members(session, g.tenant_id)
    role_forms = {}
    for member in members:
        if services.rank(member.role) >= services.rank(actor.role):
            form = RoleForm(prefix=f"m{member.id}", formdata=None)
            form.role.choices = role_choices(grantable)
            form.role.data = member.role
            role_forms[member.id] = form
    transfer_form = forms.get("transfer_form") or TransferForm()
    transfer_form.member.choices = [SelectChoice(m.id, m.account.email) for m in members
                                   if m.id != actor.id]
    policy_form = PolicyForm(require_two_factor=services.requires_two_factor(session,
                                                                             g.tenant_id))
    return render("members/index.html", status=status, actor=actor, members=members,
                  invitations=services.pending_invitations(session, g.tenant_id),
                  invite_form=invite_form, role_forms=role_forms, transfer_form=transfer_form,
                  policy_form=policy_form, error=error, limit=_members_limit(),
                  limit_reached=limit_reached)


@bp.get("")
def index():
    return _page(_actor())


@bp.post("/invite")
def invite():
    actor = _actor()
    form = InviteForm()
    form.role.choices = role_choices(services.grantable_roles(actor.role))
    if not form.validate_on_submit():
        return _page(actor, status=422, invite_form=form)
    try:
        invitation = services.invite(db.session(), g.tenant_id, actor, form.email.data,
                                     form.role.data, _members_limit())
    except services.LimitReached as refused:
        return _page(actor, status=422, error=str(refused.message), limit_reached=True,
                     invite_form=form)
    except services.MembersError as refused:
        return _page(actor, status=422, error=str(refused.message), invite_form=form)
    enqueue(send_invitation, invitation.id)
    flash(_("Invitation sent to %(email)s.", email=invitation.email), "members")
    return redirect(url_for(".index"), code=303)


@bp.post("/invitations/<int:invitation_id>/revoke")
def revoke(invitation_id: int):
    _actor()
    services.revoke(db.session(), g.tenant_id, invitation_id)
    flash(_("Invitation withdrawn: its link no longer works."), "members")
    return redirect(url_for(".index"), code=303)


@bp.post("/<int:membership_id>/role")
def change_role(membership_id: int):
    actor = _actor()
    form = RoleForm(prefix=f"m{membership_id}")
    form.role.choices = role_choices(services.grantable_roles(actor.role))
    if not form.validate_on_submit():
        return _page(actor, status=422, error=_("You cannot give a role above your own."))
    try:
        target = services.change_role(db.session(), g.tenant_id, actor, membership_id,
                                      form.role.data)
    except services.MembersError as refused:
        return _page(actor, status=422, error=str(refused.message))
    flash(_("%(email)s's role is changed.", email=target.account.email), "members")
    return redirect(url_for(".index"), code=303)


@bp.post("/<int:membership_id>/remove")
def remove(membership_id: int):
    actor = _actor()
    try:
        removed = services.remove(db.session(), g.tenant_id, actor, membership_id)
    except services.MembersError as refused:
        return _page(actor, status=422, error=str(refused.message))
    if removed.id == current_user.id:  # left the organisation: that session is over too
        logout_user()
        return redirect(url_for("auth.login"), code=303)
    flash(_("%(email)s is no longer a member and has been signed out.", email=removed.email),
          "members")
    return redirect(url_for(".index"), code=303)


@bp.post("/transfer")
def transfer():
    actor = _actor("owner")
    form = TransferForm()
    members = services.members(db.session(), g.tenant_id)
    form.member.choices = [SelectChoice(m.id, m.account.email) for m in members
                           if m.id != actor.id]
    if not form.validate_on_submit():
        return _page(actor, status=422, transfer_form=form)
    try:
        target = services.transfer_ownership(db.session(), g.tenant_id, actor,
                                             form.member.data, form.password.data)
    except services.MembersError as refused:
        return _page(actor, status=422, error=str(refused.message), transfer_form=form)
    flash(_("%(email)s is now the owner; you are an administrator.",
            email=target.account.email), "members")
    return redirect(url_for(".index"), code=303)


@bp.post("/two-factor")
def two_factor_policy():
    actor = _actor("owner")
    form = PolicyForm()
    if not form.validate_on_submit():
        return _page(actor, status=422)
    required = bool(form.require_two_factor.data)
    try:
        services.set_two_factor_required(db.session(), g.tenant_id, actor, required)
    except services.MembersError as refused:
        return _page(actor, status=422, error=str(refused.message))
    flash(_("Members must now use two-factor sign-in.") if required
          else _("Two-factor sign-in is now optional for members."), "members")
    return redirect(url_for(".index"), code=303)


# --- the invitation link (control plane: the person may have no account yet) ---------------


def _refused(message: str):
    return error_page(409, title=_("This invitation cannot be used"), message=message)


def _invitation_or_404(token: str) -> tuple[Invitation, Tenant] | None:
    invitation = services.find_invitation(db.session(), token)
    tenant = db.session().get(Tenant, invitation.tenant_id) if invitation else None
    if invitation is None or tenant is None:
        return None
    return invitation, tenant


@invitations_bp.route("/<token>", methods=["GET", "POST"])
def accept(token: str):
    found = _invitation_or_404(token)
    if found is None:
        return error_page(404, title=_("This invitation cannot be used"), message=_(
            "This invitation link is not valid: it has expired, has already been used or "
            "was withdrawn. Ask the person who invited you for a new one."))
    invitation, tenant = found
    session = db.session()
    here = url_for(".accept", token=token)
    if current_user.is_authenticated:
        if current_user.email != invitation.email:
            return render("members/accept.html", invitation=invitation, tenant=tenant,
                          wrong_account=True, status=403)
        if request.method == "POST":
            try:
                services.accept(session, invitation, current_user)
            except services.MembersError as refused:
                return _refused(str(refused.message))
            return redirect(url_for("tenant.events.admin_index", tenant=tenant.slug), code=303)
        return render("members/accept.html", invitation=invitation, tenant=tenant)
    if services.account_exists(session, invitation.email):
        # The address has an account: sign in first, then come back here to accept.
        return render("members/accept.html", invitation=invitation, tenant=tenant,
                      login_url=url_for("auth.login", next=safe_next(here)))
    form = AcceptForm(invitation.email)
    if form.validate_on_submit():
        language = cookie.get("lang")
        if language is None or language not in current_app.config["LANGUAGES"]:
            language = tenant.default_language
        try:
            account = services.accept_with_new_account(
                session, invitation, display_name=form.display_name.data,
                password=form.new_password.data, language=language)
        except services.MembersError as refused:
            session.rollback()  # used at this very moment: the account made for it goes too
            return _refused(str(refused.message))
        auth_services.start_session(session, account)
        login_user(account)
        return redirect(url_for("tenant.events.admin_index", tenant=tenant.slug), code=303)
    return render("members/accept.html", invitation=invitation, tenant=tenant, form=form,
                  status=422 if form.errors else 200)
