"""A tenant's members: who may manage them, invitations (forged, expired, reused), escalation,
the last owner, removal ending sessions, ownership transfer, the plan's limit, and the tenant's
two-factor requirement."""

from __future__ import annotations

from urllib.parse import urlsplit

import pyotp
import pytest
from sqlalchemy import select

from tests import factories
from tests.fixtures.people import is_signed_in as signed_in
from tests.fixtures.people import sign_in_member
from webapp import db
from webapp.auth.models import Account, LoginSession, Membership
from webapp.billing.models import Subscription
from webapp.members import services as members
from webapp.members.models import Invitation
from webapp.members.tasks import sweep_memberless_accounts
from webapp.organisations.models import Tenant

OWNER = "owner@acme.test"
NEWCOMER = "newcomer@example.org"
MEMBERS = "/t/acme/admin/members"
NEW_PASSWORD = "a long enough passphrase 7"


def membership(app, email: str, slug: str = "acme") -> Membership | None:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session().scalar(select(Membership).join(Account).join(
            Tenant, Tenant.id == Membership.tenant_id).where(
            Account.email == email, Tenant.slug == slug))


def membership_id(app, email: str) -> int:  # type: ignore[no-untyped-def]
    found = membership(app, email)
    assert found is not None
    return found.id


def role_of(app, email: str) -> str | None:  # type: ignore[no-untyped-def]
    found = membership(app, email)
    return found.role if found is not None else None


def invitation_link(outbox) -> str:  # type: ignore[no-untyped-def]
    """The link of the last e-mail sent (delivery ends before the request answers)."""
    links = [link for link in outbox.links(outbox.messages[-1]) if "/invitations/" in link]
    assert len(links) == 1
    return urlsplit(links[0]).path


def invite(client, email: str = NEWCOMER, role: str = "manager"):  # type: ignore[no-untyped-def]
    return client.post(f"{MEMBERS}/invite", data={"email": email, "role": role})


# --- who may manage members -----------------------------------------------------------------

ACTIONS = [("get", ""), ("post", "/invite"), ("post", "/invitations/1/revoke"),
           ("post", "/1/role"), ("post", "/1/remove"), ("post", "/transfer"),
           ("post", "/two-factor")]


@pytest.mark.parametrize("role", ["manager", "moderator", "viewer"])
def test_members_pages_are_refused_below_admin(app, client, role):
    sign_in_member(client, "acme", role, "staff@acme.test")
    for method, suffix in ACTIONS:
        response = getattr(client, method)(MEMBERS + suffix)
        assert response.status_code == 403, (method, suffix)


def test_members_pages_need_a_signed_in_member(app, client):
    assert client.get(MEMBERS).status_code == 302  # to the login page
    assert client.post(f"{MEMBERS}/invite").status_code == 401
    with app.app_context():
        factories.member("globex", "boss@globex.test", "owner")
    factories.login(client, "boss@globex.test")
    assert client.get(MEMBERS).status_code == 403  # an owner of another tenant


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_see_the_members_page(app, client, role):
    sign_in_member(client, "acme", role, OWNER)
    page = client.get(MEMBERS)
    assert page.status_code == 200
    assert OWNER in page.get_data(as_text=True)


def test_only_owners_transfer_or_set_the_two_factor_rule(app, client):
    sign_in_member(client, "acme", "admin", OWNER)
    assert client.post(f"{MEMBERS}/two-factor", data={"require_two_factor": "y"}).status_code \
        == 403
    assert client.post(f"{MEMBERS}/transfer", data={"member": 1, "password": "x"}).status_code \
        == 403


# --- invitations ----------------------------------------------------------------------------


def test_an_invitation_creates_the_account_and_the_membership(app, client, outbox):
    sign_in_member(client, "acme", "owner", OWNER)
    assert invite(client).status_code == 303
    link = invitation_link(outbox)
    with app.app_context():
        stored = db.session().scalar(select(Invitation))
        assert stored.token_hash and stored.token_hash not in link  # only its hash is kept

    newcomer = app.test_client()
    page = newcomer.get(link)
    assert page.status_code == 200 and NEWCOMER in page.get_data(as_text=True)
    weak = newcomer.post(link, data={"display_name": "New", "new_password": "short",
                                     "confirm": "short"})
    assert weak.status_code == 422
    assert role_of(app, NEWCOMER) is None
    done = newcomer.post(link, data={"display_name": "New Comer", "new_password": NEW_PASSWORD,
                                     "confirm": NEW_PASSWORD})
    assert done.status_code == 303
    assert role_of(app, NEWCOMER) == "manager"
    assert newcomer.get("/t/acme/admin/events").status_code == 200

    # Single use: the same link, even by the same person, is refused.
    assert app.test_client().get(link).status_code == 404
    assert newcomer.post(link, data={}).status_code == 404


def test_forged_and_expired_invitation_links_are_refused(app, client, outbox, clock):
    sign_in_member(client, "acme", "owner", OWNER)
    invite(client)
    link = invitation_link(outbox)
    stranger = app.test_client()
    assert stranger.get("/invitations/forged-token").status_code == 404
    assert stranger.get(link[:-2] + "xx").status_code == 404
    assert stranger.get("/invitations/" + "a" * 500).status_code == 404

    clock.advance(days=8)
    assert stranger.get(link).status_code == 404
    refused = stranger.post(link, data={"display_name": "Late", "new_password": NEW_PASSWORD,
                                        "confirm": NEW_PASSWORD})
    assert refused.status_code == 404
    assert role_of(app, NEWCOMER) is None


def test_inviting_again_replaces_the_previous_link(app, client, outbox):
    sign_in_member(client, "acme", "owner", OWNER)
    invite(client)
    first = invitation_link(outbox)
    invite(client, role="viewer")
    second = invitation_link(outbox)
    newcomer = app.test_client()
    assert newcomer.get(first).status_code == 404
    newcomer.post(second, data={"display_name": "N", "new_password": NEW_PASSWORD,
                                "confirm": NEW_PASSWORD})
    assert role_of(app, NEWCOMER) == "viewer"


def test_a_withdrawn_invitation_no_longer_works(app, client, outbox):
    sign_in_member(client, "acme", "owner", OWNER)
    invite(client)
    link = invitation_link(outbox)
    with app.app_context():
        invitation_id = db.session().scalar(select(Invitation.id))
    assert client.post(f"{MEMBERS}/invitations/{invitation_id}/revoke").status_code == 303
    assert app.test_client().get(link).status_code == 404


def test_an_existing_account_signs_in_then_accepts(app, client, outbox):
    with app.app_context():
        factories.account(NEWCOMER)
    sign_in_member(client, "acme", "owner", OWNER)
    invite(client, role="viewer")
    link = invitation_link(outbox)

    newcomer = app.test_client()
    page = newcomer.get(link).get_data(as_text=True)
    assert "/login?next=" in page
    # Creating a second account for the address is not offered, nor possible.
    newcomer.post(link, data={"display_name": "X", "new_password": NEW_PASSWORD,
                              "confirm": NEW_PASSWORD})
    assert role_of(app, NEWCOMER) is None

    factories.login(newcomer, NEWCOMER)
    assert newcomer.post(link).status_code == 303
    assert role_of(app, NEWCOMER) == "viewer"


def test_someone_else_signed_in_cannot_accept(app, client, outbox):
    sign_in_member(client, "acme", "owner", OWNER)
    invite(client)
    link = invitation_link(outbox)
    with app.app_context():
        factories.account("other@example.org")
    other = app.test_client()
    factories.login(other, "other@example.org")
    assert other.get(link).status_code == 403
    assert other.post(link).status_code == 403
    assert role_of(app, "other@example.org") is None
    assert role_of(app, NEWCOMER) is None


def test_invalid_invitations_change_nothing(app, client, outbox):
    sign_in_member(client, "acme", "owner", OWNER)
    assert invite(client, email="not an address").status_code == 422
    assert invite(client, role="emperor").status_code == 422
    assert invite(client, email=OWNER).status_code == 422  # already a member
    assert not outbox.messages
    with app.app_context():
        assert db.session().scalar(select(Invitation)) is None


# --- escalation -----------------------------------------------------------------------------


def test_admins_cannot_create_or_touch_owners(app, client, outbox):
    with app.app_context():
        factories.member("acme", "boss@acme.test", "owner")
        factories.member("acme", "peer@acme.test", "manager")
    sign_in_member(client, "acme", "admin", "admin@acme.test")
    boss, peer = membership_id(app, "boss@acme.test"), membership_id(app, "peer@acme.test")

    assert invite(client, role="owner").status_code == 422
    assert not outbox.messages
    assert client.post(f"{MEMBERS}/{peer}/role", data={f"m{peer}-role": "owner"}).status_code \
        == 422
    assert client.post(f"{MEMBERS}/{boss}/role", data={f"m{boss}-role": "viewer"}).status_code \
        == 422
    assert client.post(f"{MEMBERS}/{boss}/remove").status_code == 422
    assert role_of(app, "peer@acme.test") == "manager"
    assert role_of(app, "boss@acme.test") == "owner"

    # Within their reach, admins do change roles and remove.
    assert client.post(f"{MEMBERS}/{peer}/role", data={f"m{peer}-role": "admin"}).status_code \
        == 303
    assert role_of(app, "peer@acme.test") == "admin"


def test_a_member_of_another_tenant_cannot_be_changed_from_here(app, client):
    with app.app_context():
        factories.member("globex", "them@globex.test", "viewer")
    sign_in_member(client, "acme", "owner", OWNER)
    theirs = membership(app, "them@globex.test", "globex").id
    assert client.post(f"{MEMBERS}/{theirs}/remove").status_code == 422
    assert role_of(app, "them@globex.test") is None  # (not in acme)
    assert membership(app, "them@globex.test", "globex") is not None


# --- owners ---------------------------------------------------------------------------------


def test_the_last_owner_can_be_neither_demoted_nor_removed(app, client):
    sign_in_member(client, "acme", "owner", OWNER)
    me = membership_id(app, OWNER)
    assert client.post(f"{MEMBERS}/{me}/role", data={f"m{me}-role": "admin"}).status_code == 422
    assert client.post(f"{MEMBERS}/{me}/remove").status_code == 422
    assert role_of(app, OWNER) == "owner"

    with app.app_context():
        factories.member("acme", "second@acme.test", "owner")
    assert client.post(f"{MEMBERS}/{me}/role", data={f"m{me}-role": "admin"}).status_code == 303
    assert role_of(app, OWNER) == "admin"


def test_ownership_transfer_needs_the_password(app, client):
    with app.app_context():
        factories.member("acme", "heir@acme.test", "manager")
    sign_in_member(client, "acme", "owner", OWNER)
    heir = membership_id(app, "heir@acme.test")

    wrong = client.post(f"{MEMBERS}/transfer", data={"member": heir, "password": "guess"})
    assert wrong.status_code == 422
    assert role_of(app, "heir@acme.test") == "manager"

    done = client.post(f"{MEMBERS}/transfer", data={"member": heir,
                                                    "password": factories.PASSWORD})
    assert done.status_code == 303
    assert role_of(app, "heir@acme.test") == "owner"
    assert role_of(app, OWNER) == "admin"


# --- removal --------------------------------------------------------------------------------


def test_removal_signs_the_member_out_at_once(app, client):
    staff = app.test_client()
    sign_in_member(staff, "acme", "manager", "staff@acme.test")
    assert staff.get("/t/acme/admin/events").status_code == 200
    sign_in_member(client, "acme", "owner", OWNER)

    assert client.post(f"{MEMBERS}/{membership_id(app, 'staff@acme.test')}/remove").status_code \
        == 303
    assert role_of(app, "staff@acme.test") is None
    assert not signed_in(staff)
    assert staff.get("/t/acme/admin/events").status_code == 302  # back to the login page


# --- the plan's limit -----------------------------------------------------------------------


def test_the_members_limit_refuses_with_an_upgrade_link(app, client, outbox, english):
    sign_in_member(english(client), "acme", "owner", OWNER)
    with app.app_context():
        tenant_id = db.session().scalar(select(Tenant.id).where(Tenant.slug == "acme"))
        db.session().add(Subscription(tenant_id=tenant_id, plan="starter", status="active"))
        db.commit()  # starter: 3 members, invitations included
    assert invite(client, "one@example.org").status_code == 303
    assert invite(client, "two@example.org").status_code == 303

    refused = invite(client, "three@example.org")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Your plan allows 3 members" in page
    assert 'href="/organisations/acme/subscription"' in page
    assert len(outbox.messages) == 2


# --- the tenant's two-factor rule -----------------------------------------------------------


def test_an_owner_without_two_factor_cannot_require_it(app, client):
    sign_in_member(client, "acme", "owner", OWNER)
    refused = client.post(f"{MEMBERS}/two-factor", data={"require_two_factor": "y"})
    assert refused.status_code == 422
    assert client.get("/t/acme/admin/events").status_code == 200  # not locked out


def test_a_tenant_requiring_two_factor_sends_members_to_set_it_up(app, client):
    owner = app.test_client()
    with app.app_context():
        factories.account(OWNER, two_factor=True)
    sign_in_member(owner, "acme", "owner", OWNER)
    assert owner.post(f"{MEMBERS}/two-factor", data={"require_two_factor": "y"}).status_code \
        == 303

    sign_in_member(client, "acme", "viewer", "staff@acme.test")
    response = client.get("/t/acme/admin/events")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account/two-factor"
    assert client.get("/t/acme/").status_code == 200  # the public site is not concerned
    for page in ("contract", "contract/bundle.zip", "subscription", "instructions", "breaches"):
        # Nor its organisation pages: the data export above all.
        stopped = client.get(f"/organisations/acme/{page}")
        assert stopped.status_code == 302, page
        assert urlsplit(stopped.headers["Location"]).path == "/account/two-factor"
    with app.app_context():
        factories.member("globex", "staff@acme.test", "viewer")
    assert client.get("/t/globex/admin/events").status_code == 200  # nor other tenants

    assert "Acme" in client.get("/account/two-factor").get_data(as_text=True)  # says who asks
    with app.app_context():
        secret = db.session().scalar(select(Account.totp_secret).where(
            Account.email == "staff@acme.test"))
    client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    assert client.get("/t/acme/admin/events").status_code == 200

    # Owners with two-factor sign-in on are never stopped.
    assert owner.get("/t/acme/admin/events").status_code == 200


def test_an_invitation_from_someone_demoted_since_is_refused(app, client, outbox):
    with app.app_context():
        factories.member("acme", "boss@acme.test", "owner")
    sign_in_member(client, "acme", "admin", "admin@acme.test")
    invite(client, role="admin")
    link = invitation_link(outbox)
    with app.app_context():
        demoted = db.session().scalar(select(Membership).join(Account).where(
            Account.email == "admin@acme.test"))
        demoted.role = "viewer"
        db.commit()

    newcomer = app.test_client()
    refused = newcomer.post(link, data={"display_name": "N", "new_password": NEW_PASSWORD,
                                        "confirm": NEW_PASSWORD})
    assert refused.status_code == 409
    assert role_of(app, NEWCOMER) is None
    with app.app_context():  # no account left behind
        assert db.session().scalar(select(Account).where(Account.email == NEWCOMER)) is None


# --- accounts left without a membership -------------------------------------------------------


def test_an_account_left_without_a_membership_is_deleted_within_30_days(app, client, clock):
    """The controller's register promises it; the daily sweep keeps the promise. Operators keep
    their account; an account that joins an organisation again is no longer counted."""
    staff = app.test_client()
    sign_in_member(staff, "acme", "manager", "gone@acme.test")
    with app.app_context():
        factories.member("acme", "back@acme.test", "viewer")
        factories.account("operator@parvis.test", operator_role="support")
        session = db.session()
        ids = {email: session.scalar(select(Account.id).where(Account.email == email))
               for email in ("gone@acme.test", "back@acme.test", "operator@parvis.test")}
        session.execute(Membership.__table__.delete().where(
            Membership.account_id.in_([ids["gone@acme.test"], ids["back@acme.test"]])))
        db.commit()

        assert sweep_memberless_accounts.call_local() == 0  # the clock starts
        session.expire_all()
        for email in ("gone@acme.test", "back@acme.test"):
            assert session.get(Account, ids[email]).memberless_since is not None
        assert session.get(Account, ids["operator@parvis.test"]).memberless_since is None

        clock.advance(days=10)
        factories.member("globex", "back@acme.test", "viewer")  # joins another organisation
        assert sweep_memberless_accounts.call_local() == 0
        session.expire_all()
        assert session.get(Account, ids["back@acme.test"]).memberless_since is None

        clock.advance(days=members.MEMBERLESS_DAYS - 10)
        assert sweep_memberless_accounts.call_local() >= 1
        session.expire_all()
        assert session.get(Account, ids["gone@acme.test"]) is None
        assert session.scalar(select(LoginSession).where(
            LoginSession.account_id == ids["gone@acme.test"])) is None
        assert session.get(Account, ids["back@acme.test"]) is not None
        assert session.get(Account, ids["operator@parvis.test"]) is not None
