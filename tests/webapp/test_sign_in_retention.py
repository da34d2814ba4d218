"""The platform's own sign-in records: their retention (PRODUCT.md, "Retention and deletion":
connection logs, 12 months, bounds 1-12 months), the daily sweep and its receipts, the
operators' setting, and the register generated from what is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from core.clock import utcnow
from tenants import api as tenants_api
from tests import factories
from tests.fixtures.people import client_for, english
from webapp import db
from webapp.auth.models import LoginFailure, LoginSession
from webapp.registers import controller
from webapp.registers.models import RegisterVersion
from webapp.retention import services, tasks
from webapp.retention.models import ControlRetentionReceipt, ControlRetentionRule

PRIVACY = "privacy@parvis.test"
MEMBER = "staff@acme.test"


def months_ago(months: int, days: int = 0) -> datetime:
    return tenants_api.retention_shift(utcnow(), "months", -months) - timedelta(days=days)


def add_session(account_id: int, *, ended: datetime, revoked: bool = True) -> str:
    """A session that ended at ``ended``: revoked then (its expiry later), or expired then."""
    token_hash = hashlib.sha256(secrets.token_bytes(16)).hexdigest()
    db.session().add(LoginSession(
        token_hash=token_hash, account_id=account_id, created_at=ended - timedelta(hours=1),
        expires_at=ended + timedelta(hours=11) if revoked else ended,
        revoked_at=ended if revoked else None))
    db.session().flush()
    return token_hash


def kept(hashes: list[str]) -> set[str]:
    return set(db.session().scalars(select(LoginSession.token_hash).where(
        LoginSession.token_hash.in_(hashes))))


def sweep() -> ControlRetentionReceipt:
    tasks.sweep_sign_in_records.call_local()
    db.commit()
    return db.session().scalars(select(ControlRetentionReceipt).order_by(
        ControlRetentionReceipt.id.desc()).limit(1)).one()


def set_months(months: int) -> None:
    operator = factories.account("admin@parvis.test", operator_role="admin")
    services.set_sign_in_months(db.session(), months, operator)
    db.commit()


def test_the_default_and_bounds_are_the_tenants_connection_logs():
    assert (services.KIND.default, services.KIND.bounds, services.KIND.unit) == (
        12, (1, 12), "months")


def test_a_session_ended_12_months_and_a_day_ago_is_deleted_an_11_month_one_kept(app):
    with app.app_context():
        person = factories.account(MEMBER)
        old_revoked = add_session(person.id, ended=months_ago(12, days=1))
        old_expired = add_session(person.id, ended=months_ago(12, days=1), revoked=False)
        day_short = add_session(person.id, ended=months_ago(12, days=-1))
        recent = add_session(person.id, ended=months_ago(11))
        live = add_session(person.id, ended=utcnow() + timedelta(hours=3), revoked=False)
        db.commit()
        receipt = sweep()
        assert kept([old_revoked, old_expired, day_short, recent, live]) == {
            day_short, recent, live}
        assert receipt.sessions_deleted == 2 and receipt.session_months == 12
        assert receipt.finished_at is not None
        assert abs(receipt.session_cutoff - months_ago(12)) < timedelta(minutes=5)


def test_a_session_revoked_after_its_expiry_counts_from_its_expiry(app):
    """Revoking every session (a password change) also stamps sessions long expired."""
    with app.app_context():
        person = factories.account(MEMBER)
        token_hash = add_session(person.id, ended=months_ago(13), revoked=False)
        db.session().get(LoginSession, token_hash).revoked_at = utcnow()
        db.commit()
        assert sweep().sessions_deleted == 1
        assert kept([token_hash]) == set()


def test_a_shorter_setting_deletes_sooner(app):
    with app.app_context():
        person = factories.account(MEMBER)
        seven = add_session(person.id, ended=months_ago(7))
        five = add_session(person.id, ended=months_ago(5))
        set_months(6)
        receipt = sweep()
        assert kept([seven, five]) == {five}
        assert receipt.session_months == 6 and receipt.sessions_deleted == 1


def test_the_sweep_goes_in_batches_each_counted(app, monkeypatch):
    monkeypatch.setattr(services, "BATCH", 2)
    with app.app_context():
        person = factories.account(MEMBER)
        old = [add_session(person.id, ended=months_ago(13)) for _ in range(5)]
        db.commit()
        assert sweep().sessions_deleted == 5
        assert kept(old) == set()


def test_failed_sign_ins_past_the_throttling_window_are_deleted(app):
    window = app.config["LOGIN_FAILURE_WINDOW"]
    with app.app_context():
        session = db.session()
        session.add_all([
            LoginFailure(key="a" * 64, at=utcnow() - timedelta(seconds=window + 60)),
            LoginFailure(key="b" * 64, at=utcnow() - timedelta(seconds=window - 60))])
        db.commit()
        receipt = sweep()
        assert receipt.failures_deleted == 1 and receipt.failure_window == window
        assert list(session.scalars(select(LoginFailure.key))) == ["b" * 64]


@pytest.mark.parametrize("months", [0, 13, -1, 120, True, "12", None])
def test_the_service_refuses_values_outside_the_bounds(app, months):
    with app.app_context():
        operator = factories.account("admin@parvis.test", operator_role="admin")
        with pytest.raises(services.SettingError, match="entre 1 mois et 12 mois"):
            services.set_sign_in_months(db.session(), months, operator)
        assert db.session().get(ControlRetentionRule, services.SIGN_IN_RECORDS) is None


@pytest.mark.parametrize(("months", "english_message", "french_message"), [
    ("13", "between 1 month and 12 months", "entre 1 mois et 12 mois"),
    ("0", "between 1 month and 12 months", "entre 1 mois et 12 mois"),
    ("abc", "Not a valid integer value.", "N&#39;est pas un entier valide."),
    ("", "Enter a whole number.", "Saisissez un nombre entier."),
])
def test_the_page_refuses_out_of_bounds_with_a_translated_error(app, months, english_message,
                                                                  french_message):
    client = client_for(app, PRIVACY, operator_role="privacy")
    refused = client.post("/ops/sign-in-records", data={"months": months})
    assert refused.status_code == 422
    assert french_message in refused.get_data(as_text=True)
    english(client)
    refused = client.post("/ops/sign-in-records", data={"months": months})
    assert refused.status_code == 422
    assert english_message in refused.get_data(as_text=True)
    with app.app_context():
        assert services.sign_in_rule(db.session()).duration == 12


def test_privacy_operators_set_it_and_see_the_receipts(app):
    client = english(client_for(app, PRIVACY, operator_role="privacy"))
    with app.app_context():
        sweep()
    page = client.get("/ops/sign-in-records").get_data(as_text=True)
    assert "The platform's default." in page and "Receipts of the daily sweep" in page
    assert "No sweep has run yet." not in page
    saved = client.post("/ops/sign-in-records", data={"months": "3"})
    assert saved.status_code == 303
    page = client.get("/ops/sign-in-records").get_data(as_text=True)
    assert f"Set by {PRIVACY}" in page and "kept 3 months after it ended" in page
    with app.app_context():
        row = db.session().get(ControlRetentionRule, services.SIGN_IN_RECORDS)
        assert (row.duration, row.unit, row.updated_by_email) == (3, "months", PRIVACY)


@pytest.mark.parametrize(("who", "expected"), [("support", 403), ("member", 403)])
def test_other_people_cannot_see_or_change_it(app, who, expected):
    client = (client_for(app, "support@parvis.test", operator_role="support") if who == "support"
              else client_for(app, MEMBER, slug="acme", role="owner"))
    assert client.get("/ops/sign-in-records").status_code == expected
    assert client.post("/ops/sign-in-records", data={"months": "1"}).status_code == expected
    with app.app_context():
        assert services.sign_in_rule(db.session()).duration == 12


# --- the register says what is stored, for as long as the setting says ------------------------


def security_row(page: str) -> str:
    start = page.index("Security logs and sign-in sessions")
    return page[start:page.index("</section>", start)]


def test_the_register_follows_a_change_of_the_setting(app):
    client = english(client_for(app, PRIVACY, operator_role="privacy"))
    row = security_row(client.get("/ops/records").get_data(as_text=True))
    assert "kept 12 months after it ended" in row and "valid for 12 hours" in row
    assert "counted for 15 minutes" in row
    assert client.post("/ops/sign-in-records", data={"months": "1"}).status_code == 303
    row = security_row(client.get("/ops/records").get_data(as_text=True))
    assert "kept 1 month after it ended" in row and "12 months" not in row
    with app.app_context():
        versions = list(db.session().scalars(select(RegisterVersion).where(
            RegisterVersion.tenant_id.is_(None)).order_by(RegisterVersion.number)))
        assert [v.number for v in versions] == [1, 2]
        assert "conservée 1 mois après sa fin" in str(versions[-1].snapshot["fr"])
        assert "conservée 12 mois après sa fin" in str(versions[0].snapshot["fr"])


def test_the_register_describes_every_stored_column_and_claims_no_ip_address(app):
    with app.app_context():
        facts = services.facts(db.session())
    assert set(facts.session_columns) == set(LoginSession.__table__.columns.keys())
    assert set(facts.failure_columns) == set(LoginFailure.__table__.columns.keys())
    activity = controller.security_logs(facts)
    categories = activity.data_categories("en")
    for column in ("token_hash", "account_id", "created_at", "expires_at", "revoked_at"):
        assert controller.SESSION_COLUMNS[column].en in categories
    # What the hand-written register claimed, and nothing stores.
    assert "IP address and time of sign-ins" not in categories
    assert "until they expire" not in activity.retention("en")
    # A column nobody described (an IP address stored some day) stops the register.
    with pytest.raises(controller.UndescribedColumn, match="ip_address"):
        controller.rows("en", services.SignInFacts(
            12, 12, 15, (*facts.session_columns, "ip_address"), facts.failure_columns))

