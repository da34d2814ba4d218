"""A tenant's members: invitations, roles, removal, ownership transfer, two-factor policy.

Rules: only owners and admins manage members; nobody grants a role above their own or touches
a member who ranks above them (so admins never create, demote or remove owners); a tenant always
keeps at least one owner; a removed member's sessions end at once. Invitation links are random
tokens, stored hashed, valid ``INVITATION_DAYS`` days and usable once. An account left without
any membership is deleted within ``MEMBERLESS_DAYS`` days (``sweep_memberless_accounts``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core import mail
from core.clock import utcnow
from core.db import rowcount
from tenants.api import ROLES
from webapp.auth import services as auth_services
from webapp.auth.models import Account, Membership
from webapp.members.models import Invitation, MemberPolicy

INVITATION_DAYS = 7
# An account without any membership (and no operator role) is deleted this many days after the
# sweep first found it so, as the controller's register says (webapp/registers/controller.py).
MEMBERLESS_DAYS = 30
MANAGERS = ("owner", "admin")


class MembersError(Exception):
    """A refused change, with a message for the person who asked."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message


class LimitReached(MembersError):
    """The plan's members limit is reached: the page offers an upgrade."""


def can_manage(role: str | None) -> bool:
    return role in MANAGERS


def rank(role: str) -> int:
    """Lower is more powerful: owner 0 ... viewer 4."""
    return ROLES.index(role)


def grantable_roles(actor_role: str) -> tuple[str, ...]:
    """The roles ``actor_role`` may give: its own and those below it."""
    return ROLES[rank(actor_role):] if can_manage(actor_role) else ()


def members(db: Session, tenant_id: int) -> list[Membership]:
    rows = db.scalars(select(Membership).where(Membership.tenant_id == tenant_id))
    return sorted(rows, key=lambda m: (rank(m.role), m.account.email))


def membership(db: Session, tenant_id: int, account_id: int) -> Membership | None:
    return db.scalar(select(Membership).where(Membership.tenant_id == tenant_id,
                                              Membership.account_id == account_id))


def pending_invitations(db: Session, tenant_id: int) -> list[Invitation]:
    return list(db.scalars(select(Invitation).where(
        Invitation.tenant_id == tenant_id, Invitation.accepted_at.is_(None),
        Invitation.expires_at > utcnow()).order_by(Invitation.created_at)))


def _count_seats(db: Session, tenant_id: int, *, except_email: str = "") -> int:
    """Members plus pending invitations: each invitation holds a seat until it expires."""
    people = db.scalar(select(func.count()).where(Membership.tenant_id == tenant_id)) or 0
    invited = db.scalar(select(func.count()).where(
        Invitation.tenant_id == tenant_id, Invitation.accepted_at.is_(None),
        Invitation.expires_at > utcnow(), Invitation.email != except_email)) or 0
    return people + invited


def invite(db: Session, tenant_id: int, actor: Membership, email: str, role: str,
           limit: int | None) -> Invitation:
    """Invite ``email`` with ``role``; the caller queues the e-mail (``tasks.send_invitation``).
    Inviting the same address again replaces the pending invitation (and its link)."""
    email = auth_services.normalise_email(email)
    if role not in grantable_roles(actor.role):
        raise MembersError(_l("You cannot give a role above your own."))
    existing = db.scalar(select(Membership).join(Account).where(
        Membership.tenant_id == tenant_id, Account.email == email))
    if existing is not None:
        raise MembersError(_l("This person is already a member."))
    if limit is not None and _count_seats(db, tenant_id, except_email=email) >= limit:
        raise LimitReached(_l("Your plan allows %(num)d members, invitations included.",
                              num=limit))
    db.execute(delete(Invitation).where(Invitation.tenant_id == tenant_id,
                                        Invitation.email == email,
                                        Invitation.accepted_at.is_(None)))
    now = utcnow()
    invitation = Invitation(tenant_id=tenant_id, email=email, role=role,
                            invited_by_id=actor.account_id, created_at=now,
                            expires_at=now + timedelta(days=INVITATION_DAYS))
    db.add(invitation)
    db.flush()
    return invitation


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(db: Session, invitation: Invitation) -> str:
    """A new link token for the invitation (the previous link, if any, stops working)."""
    token = secrets.token_urlsafe(32)
    invitation.token_hash = _hash(token)
    db.flush()
    return token


def find_invitation(db: Session, token: str) -> Invitation | None:
    """The usable invitation behind a link: unknown, used and expired links give None."""
    if not token or len(token) > 100:
        return None
    return db.scalar(select(Invitation).where(
        Invitation.token_hash == _hash(token), Invitation.accepted_at.is_(None),
        Invitation.expires_at > utcnow()))


def revoke(db: Session, tenant_id: int, invitation_id: int) -> None:
    db.execute(delete(Invitation).where(Invitation.id == invitation_id,
                                        Invitation.tenant_id == tenant_id,
                                        Invitation.accepted_at.is_(None)))


def invite_first_owner(db: Session, tenant_id: int, operator: Account,
                       email: str) -> Invitation:
    """The owner's invitation of a space an operator opened from the console (nobody is a
    member yet); the caller queues the e-mail. Valid while the space has no owner."""
    now = utcnow()
    invitation = Invitation(tenant_id=tenant_id, email=auth_services.normalise_email(email),
                            role="owner", invited_by_id=operator.id, created_at=now,
                            expires_at=now + timedelta(days=INVITATION_DAYS))
    db.add(invitation)
    db.flush()
    return invitation


def _check_inviter(db: Session, invitation: Invitation) -> None:
    """The inviter may have been demoted or removed since: the role must still be theirs. An
    operator's invitation (``invite_first_owner``) holds only while the space has no owner."""
    inviter = membership(db, invitation.tenant_id, invitation.invited_by_id or 0)
    if inviter is None and not _owners(db, invitation.tenant_id):
        by = db.get(Account, invitation.invited_by_id) if invitation.invited_by_id else None
        if by is not None and by.operator_role is not None and invitation.role == "owner":
            return
    if inviter is None or invitation.role not in grantable_roles(inviter.role):
        raise MembersError(_l("This invitation is no longer valid: the person who sent it can "
                              "no longer give this role. Ask for a new one."))


def accept(db: Session, invitation: Invitation, account: Account) -> Membership:
    """Join the tenant. The invitation is claimed by a conditional UPDATE, so a link used twice
    at once still makes one membership. The address must be the invited one, and the role still
    one the inviter may give."""
    if account.email != invitation.email:
        raise MembersError(_l("This invitation was sent to another e-mail address."))
    _check_inviter(db, invitation)
    claimed = db.execute(update(Invitation).where(
        Invitation.id == invitation.id, Invitation.accepted_at.is_(None),
        Invitation.token_hash == invitation.token_hash,
    ).values(accepted_at=utcnow(), token_hash=None).execution_options(
        synchronize_session=False))
    if rowcount(claimed) != 1:
        raise MembersError(_l("This invitation has already been used."))
    found = membership(db, invitation.tenant_id, account.id)
    if found is None:
        found = Membership(tenant_id=invitation.tenant_id, account_id=account.id,
                           role=invitation.role)
        db.add(found)
        db.flush()
    return found


def account_exists(db: Session, email: str) -> bool:
    return db.scalar(select(Account.id).where(Account.email == email)) is not None


def accept_with_new_account(db: Session, invitation: Invitation, *, display_name: str,
                            password: str, language: str) -> Account:
    """Create the invited person's account: following the e-mailed link proved the address."""
    _check_inviter(db, invitation)
    account = auth_services.create_account(db, email=invitation.email, password=password,
                                           display_name=display_name, language=language)
    accept(db, invitation, account)
    return account


def _owners(db: Session, tenant_id: int) -> list[Membership]:
    # Locked (PostgreSQL): two owners demoting each other at once cannot leave none.
    return list(db.scalars(select(Membership).where(
        Membership.tenant_id == tenant_id, Membership.role == "owner").with_for_update()))


def _target(db: Session, tenant_id: int, actor: Membership, membership_id: int) -> Membership:
    target = db.scalar(select(Membership).where(Membership.id == membership_id,
                                                Membership.tenant_id == tenant_id))
    if target is None:
        raise MembersError(_l("This person is no longer a member."))
    if rank(target.role) < rank(actor.role):
        raise MembersError(_l("You cannot change a member whose role is above your own."))
    return target


def _keep_an_owner(db: Session, tenant_id: int, target: Membership) -> None:
    if target.role == "owner" and len(_owners(db, tenant_id)) <= 1:
        raise MembersError(_l("An organisation always keeps at least one owner: transfer the "
                              "ownership first."))


def change_role(db: Session, tenant_id: int, actor: Membership, membership_id: int,
                role: str) -> Membership:
    if role not in grantable_roles(actor.role):
        raise MembersError(_l("You cannot give a role above your own."))
    target = _target(db, tenant_id, actor, membership_id)
    if role != "owner":
        _keep_an_owner(db, tenant_id, target)
    target.role = role
    db.flush()
    return target


def remove(db: Session, tenant_id: int, actor: Membership, membership_id: int) -> Account:
    """Remove a member and sign them out everywhere at once, so no open page keeps working."""
    target = _target(db, tenant_id, actor, membership_id)
    _keep_an_owner(db, tenant_id, target)
    account = target.account
    db.delete(target)
    auth_services.end_all_sessions(db, account)
    db.flush()
    return account


def transfer_ownership(db: Session, tenant_id: int, actor: Membership, membership_id: int,
                       password: str) -> Membership:
    """The owner hands the ownership to another member and becomes an admin."""
    if actor.role != "owner":
        raise MembersError(_l("Only an owner can transfer the ownership."))
    if not auth_services.check_password(actor.account, password):
        raise MembersError(_l("This is not your current password."))
    target = _target(db, tenant_id, actor, membership_id)
    if target.id == actor.id:
        raise MembersError(_l("Choose another member."))
    target.role = "owner"
    actor.role = "admin"
    db.flush()
    return target


def requires_two_factor(db: Session, tenant_id: int) -> bool:
    return bool(db.scalar(select(MemberPolicy.require_two_factor).where(
        MemberPolicy.tenant_id == tenant_id)))


def set_two_factor_required(db: Session, tenant_id: int, actor: Membership,
                            required: bool) -> None:
    if actor.role != "owner":
        raise MembersError(_l("Only an owner can change this."))
    if required and not actor.account.has_two_factor:
        # Otherwise the owner would be sent to set it up by their own rule, mid-change.
        raise MembersError(_l("Turn on two-factor sign-in for your own account first."))
    policy = db.get(MemberPolicy, tenant_id)
    if policy is None:
        policy = MemberPolicy(tenant_id=tenant_id)
        db.add(policy)
    policy.require_two_factor = required
    policy.changed_by_id = actor.account_id
    policy.changed_at = utcnow()
    db.flush()


def owners_and_admins(db: Session, tenant_id: int) -> list[Account]:
    """The active accounts that answer for the organisation (owners first): whom Parvis tells
    of a breach, a billing change or the end of the contract."""
    rows = db.execute(
        select(Account, Membership.role).join(Membership, Membership.account_id == Account.id)
        .where(Membership.tenant_id == tenant_id, Membership.role.in_(("owner", "admin")),
               Account.is_active.is_(True))
        .order_by(Account.email))
    return [account for account, role in sorted(rows, key=lambda r: r[1] != "owner")]


def email_owners_and_admins(db: Session, tenant_id: int, template: str, **context: Any) -> int:
    """Send ``template`` to each owner and admin, in their own language, as Parvis itself;
    returns how many were e-mailed."""
    contacts = owners_and_admins(db, tenant_id)
    for account in contacts:
        language = account.language
        if language not in current_app.config["LANGUAGES"]:
            language = current_app.config["BABEL_DEFAULT_LOCALE"]
        mail.send(mail.render_message(account.email, template, language, tenant_name=None,
                                      **context))
    return len(contacts)


def sweep_memberless_accounts(db: Session, now: datetime | None = None) -> int:
    """Start the clock of accounts left without a membership, stop it for those that have one
    again, and delete those memberless for ``MEMBERLESS_DAYS`` days (their sessions and
    two-factor codes with them; records that named them keep the fact, without the person).
    Operators keep their account. Returns how many were deleted. The sweep runs daily, so an
    account is deleted within ``MEMBERLESS_DAYS`` days of the end of its last membership."""
    now = now or utcnow()
    member = select(Membership.id).where(Membership.account_id == Account.id).exists()
    memberless = (~member) & Account.operator_role.is_(None)
    db.execute(update(Account).where(Account.memberless_since.is_not(None), ~memberless)
               .values(memberless_since=None).execution_options(synchronize_session=False))
    db.execute(update(Account).where(Account.memberless_since.is_(None), memberless)
               .values(memberless_since=now).execution_options(synchronize_session=False))
    # One day less than the promise: the sweep saw the account up to a day after the end.
    cutoff = now - timedelta(days=MEMBERLESS_DAYS - 1)
    return rowcount(db.execute(delete(Account).where(
        Account.memberless_since <= cutoff, memberless
    ).execution_options(synchronize_session=False)))
