"""Breach workflow: who may see each page, the affected organisations computed from what an
incident touches, the controllers' e-mails, the 24 h and 72 h clocks, the CNIL draft, the
participant notice (sent to the right people only) and the register."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from core.clock import utcnow
from tenants import api as tenants_api
from tests import factories
from tests.fixtures.people import client_for as signed_in
from webapp import db
from webapp.breaches import services
from webapp.breaches.models import AffectedTenant, Breach, BreachEvent, Scope
from webapp.organisations import services as org_services
from webapp.organisations.models import ControllerIdentity, TenantStatus

PRIVACY = "privacy@parvis.test"
PARIS = timedelta(hours=1)  # the form reads Paris time; November is UTC+1
FACTS = {"nature": "Backup bucket left readable", "data_categories": "Names, e-mail addresses",
         "people_estimate": "120", "records_estimate": "300",
         "consequences": "Phishing e-mails", "measures": "Bucket closed, keys rotated"}


def tenant_id(slug: str) -> int:
    return org_services.get(db.session(), slug).id


def local(at: datetime) -> str:
    """``at`` as the form's Paris-time input."""
    return (at + PARIS).strftime("%Y-%m-%dT%H:%M")


def form(aware_at: datetime | None = None, **changes: object) -> dict:
    data = dict(FACTS, aware_at=local(aware_at or datetime.now(UTC)), scope="tenants")
    data.update(changes)
    return data


def record(client, **changes: object) -> int:  # type: ignore[no-untyped-def]
    response = client.post("/ops/breaches/new", data=form(**changes))
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def affected(breach_id: int, slug: str) -> AffectedTenant:
    return db.session().scalar(select(AffectedTenant).where(
        AffectedTenant.breach_id == breach_id, AffectedTenant.tenant_id == tenant_id(slug)))


@pytest.fixture
def operator(app: Flask):  # type: ignore[no-untyped-def]
    return signed_in(app, PRIVACY, operator_role="privacy")


@pytest.fixture
def both(app: Flask, operator) -> int:  # type: ignore[no-untyped-def]
    """An incident touching acme and globex."""
    with app.app_context():
        ids = [tenant_id("acme"), tenant_id("globex")]
    return record(operator, tenants=ids)


# --- who may see what ------------------------------------------------------------------------


@pytest.mark.parametrize("role, status", [("admin", 200), ("privacy", 200), ("support", 403)])
def test_operator_pages_by_role(app, role, status):
    client = signed_in(app, f"{role}@parvis.test", operator_role=role)
    with app.app_context():
        breach = Breach(nature="n", data_categories="c", people_estimate=1, consequences="c",
                        measures="m", aware_at=datetime.now(UTC), scope=Scope.PLATFORM,
                        recorded_at=datetime.now(UTC))
        db.session().add(breach)
        db.commit()
        breach_id = breach.id
    for url in ("/ops/breaches", "/ops/breaches/new", f"/ops/breaches/{breach_id}",
                "/ops/breaches/register.csv"):
        assert client.get(url).status_code == status, url
    with app.app_context():
        count = db.session().scalar(select(func.count()).select_from(Breach))
    answer = client.post("/ops/breaches/new", data=form(scope="platform"))
    assert answer.status_code == (303 if status == 200 else 403)
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Breach)) == (
            count + (1 if status == 200 else 0))


def test_members_and_anonymous_cannot_reach_operator_pages(app, client):
    owner = signed_in(app, "owner@acme.test", slug="acme")
    for url in ("/ops/breaches", "/ops/breaches/new", "/ops/breaches/register.csv"):
        assert owner.get(url).status_code == 403
        assert client.get(url).status_code == 302  # to the sign-in page
    assert owner.post("/ops/breaches/new", data=form(scope="platform")).status_code == 403
    assert client.post("/ops/breaches/new", data=form(scope="platform")).status_code == 401
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Breach)) == 0


@pytest.mark.parametrize("role, status", [("owner", 200), ("admin", 200), ("manager", 403),
                                          ("moderator", 403), ("viewer", 403)])
def test_tenant_pages_by_member_role(app, both, role, status):
    member = signed_in(app, f"{role}@acme.test", slug="acme", role=role)
    for url in ("/organisations/acme/breaches", f"/organisations/acme/breaches/{both}",
                "/organisations/acme/breaches.csv"):
        assert member.get(url).status_code == status, url
    answer = member.post(f"/organisations/acme/breaches/{both}/notice",
                         data={"action": "save", "notice-subject": "Changed"})
    assert answer.status_code == (303 if status == 200 else 403)


def test_other_organisations_operators_and_anonymous_get_nothing(app, client, operator, both):
    stranger = signed_in(app, "owner@globex.test", slug="globex")
    for who, status, post_status in ((stranger, 403, 403), (operator, 403, 403),
                                     (client, 302, 401)):
        assert who.get(f"/organisations/acme/breaches/{both}").status_code == status
        answer = who.post(f"/organisations/acme/breaches/{both}/notice",
                          data={"action": "send", **NOTICE})
        assert answer.status_code == post_status
    with app.app_context():
        assert affected(both, "acme").notice_sent_at is None


def test_an_incident_that_does_not_affect_the_organisation_is_not_found(app, operator):
    with app.app_context():
        globex_only = record(operator, tenants=[tenant_id("globex")])
    owner = signed_in(app, "owner@acme.test", slug="acme")
    assert owner.get(f"/organisations/acme/breaches/{globex_only}").status_code == 404
    answer = owner.post(f"/organisations/acme/breaches/{globex_only}/cnil",
                        data={"action": "file", "late_reason": "x"})
    assert answer.status_code == 404
    assert owner.get("/organisations/nowhere/breaches").status_code == 404
    with app.app_context():
        assert affected(globex_only, "globex").cnil_filed_at is None


# --- affected organisations ------------------------------------------------------------------


def test_affected_organisations_are_computed_from_what_the_incident_touches(app, ctx):
    from tenants.fields import services as fields

    session = db.session()
    # Still being provisioned: Parvis holds no data of it yet.
    org_services.set_status(session, factories.tenant("initech"), TenantStatus.PROVISIONING)
    factories.participant("acme", "ada@example.org")
    with tenants_api.tenant_context("globex") as tenant_session:
        fields.create_field(tenant_session, "text", label={"fr": "Taille de t-shirt"},
                            purpose={"fr": "Cadeau"})
    ended = factories.tenant("hooli")
    org_services.set_status(session, ended, TenantStatus.ENDED)
    db.commit()

    def names(scope: Scope, component: str = "", ids: list[int] | None = None) -> list[str]:
        return [t.slug for t in services.affected_tenants(session, scope, component, ids or [])]

    assert names(Scope.PLATFORM) == ["acme", "globex", "hooli"]
    assert names(Scope.COMPONENT, "participant_accounts") == ["acme"]
    assert names(Scope.COMPONENT, "email_relay") == ["acme"]
    assert names(Scope.COMPONENT, "registration_answers") == ["globex"]
    assert names(Scope.COMPONENT, "banner_services") == []
    assert names(Scope.TENANTS, ids=[tenant_id("globex")]) == ["globex"]
    for component, ids in (("nonsense", None), ("", None)):
        with pytest.raises(services.BreachError):
            names(Scope.COMPONENT, component, ids)
    initech = tenant_id("initech")
    for ids in ([], [initech], [tenant_id("acme"), 999_999]):
        with pytest.raises(services.BreachError):
            names(Scope.TENANTS, ids=ids)


def test_recording_keeps_who_was_affected_and_each_participant_count(app, operator):
    with app.app_context():
        factories.participant("acme", "ada@example.org")
        factories.participant("acme", "bob@example.org")
    breach_id = record(operator, scope="component", component="participant_accounts")
    with app.app_context():
        breach = db.session().get(Breach, breach_id)
        assert [(a.tenant_name, a.participants) for a in breach.affected] == [("Acme", 2)]
        assert services.cnil_draft(breach.affected[0])["people"] == "2"  # not the 120


@pytest.mark.parametrize("changes, field", [
    ({"nature": ""}, "nature"), ({"people_estimate": "-3"}, "people_estimate"),
    ({"people_estimate": "many"}, "people_estimate"), ({"when": "yesterday"}, "aware_at"),
    ({"scope": "galaxy"}, "scope"), ({"scope": "component", "component": "x"}, "component"),
    ({"scope": "tenants", "tenants": ["abc"]}, "tenants"), ({"scope": "tenants"}, "tenants"),
    ({"nature": "x" * 5001}, "nature"),
])
def test_bad_input_is_refused_and_changes_nothing(app, operator, changes, field):
    data = form(**changes)
    if "when" in data:
        data["aware_at"] = data.pop("when")
    answer = operator.post("/ops/breaches/new", data=data)
    assert answer.status_code == 422
    assert f'id="{field}-error"' in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Breach)) == 0


def test_awareness_cannot_be_in_the_future(app, operator):
    answer = operator.post("/ops/breaches/new", data=form(
        aware_at=datetime.now(UTC) + timedelta(hours=2), scope="platform"))
    assert answer.status_code == 422
    assert "future" in answer.get_data(as_text=True) or "futur" in answer.get_data(as_text=True)


# --- notifying the controllers ---------------------------------------------------------------


def test_owners_admins_and_dpo_of_each_affected_organisation_are_emailed(app, outbox,
                                                                          operator):
    with app.app_context():
        factories.member("acme", "owner@acme.test", "owner")
        factories.member("acme", "admin@acme.test", "admin")
        factories.member("acme", "manager@acme.test", "manager")
        factories.member("globex", "owner@globex.test", "owner")
        ids = [tenant_id("acme"), tenant_id("globex")]
        db.session().add(ControllerIdentity(tenant_id=ids[1], legal_name="Globex SA",
                                            address="1 rue X", dpo_name="Dee Pio",
                                            dpo_email="dpo@globex.test"))
        db.commit()
    breach_id = record(operator, tenants=ids)
    recipients = sorted(m["To"] for m in outbox.messages)
    assert recipients == ["admin@acme.test", "dpo@globex.test", "owner@acme.test",
                          "owner@globex.test"]
    mail = outbox.wait_for(lambda m: m["To"] == "owner@globex.test")
    assert "Globex" in mail["Subject"]
    assert f"/organisations/globex/breaches/{breach_id}" in " ".join(outbox.links(mail))
    assert "Backup bucket left readable" in outbox.text(mail)
    with app.app_context():
        acme = affected(breach_id, "acme")
        assert acme.notified_at is not None
        assert acme.notified_to.split("\n") == ["owner@acme.test", "admin@acme.test"]
        steps = [(e.action, e.tenant_id) for e in services.register(db.session(),
                                                                    breach_id=breach_id)]
        assert steps.count(("notified", tenant_id("acme"))) == 1
        assert steps[0] == ("recorded", None)


def test_notification_clock_shows_time_against_the_24_hours(app, ctx):
    now = datetime.now(UTC)
    breach = Breach(nature="n", data_categories="c", people_estimate=1, consequences="c",
                    measures="m", aware_at=now - timedelta(hours=20), scope=Scope.PLATFORM,
                    recorded_at=now)
    row = AffectedTenant(tenant_id=tenant_id("acme"), tenant_name="Acme", participants=0,
                         breach=breach)
    clock = services.notify_clock(row, now)
    assert clock.remaining == timedelta(hours=4) and not clock.late
    assert services.notify_clock(row, now + timedelta(hours=5)).late
    row.notified_at = now + timedelta(hours=3)
    assert not services.notify_clock(row, now + timedelta(hours=30)).late
    row.notified_at = now + timedelta(hours=5)
    assert services.notify_clock(row, now + timedelta(hours=30)).late


def test_operator_page_shows_each_organisations_clocks(app, operator, both):
    page = operator.get(f"/ops/breaches/{both}").get_data(as_text=True)
    assert "Acme" in page and "Globex" in page
    assert page.count('class="badge"') == 2  # both notified in time


# --- the organisation's CNIL draft -----------------------------------------------------------


def test_cnil_draft_is_prefilled_and_saved(app, both):
    owner = signed_in(app, "owner@acme.test", slug="acme")
    page = owner.get(f"/organisations/acme/breaches/{both}").get_data(as_text=True)
    assert "Backup bucket left readable" in page and "Bucket closed, keys rotated" in page
    answer = owner.post(f"/organisations/acme/breaches/{both}/cnil", data={
        "action": "save", "nature": "Our wording", "people": "40"})
    assert answer.status_code == 303
    with app.app_context():
        row = affected(both, "acme")
        assert services.cnil_draft(row)["nature"] == "Our wording"
        assert row.cnil_filed_at is None


def test_72_hour_clock_asks_for_reasons_once_late(app, clock, both):
    with app.app_context():
        row = affected(both, "acme")
        assert services.cnil_clock(row, utcnow()).remaining > timedelta(hours=71)
    clock.advance(hours=73)
    owner = signed_in(app, "owner@acme.test", slug="acme")
    page = owner.get(f"/organisations/acme/breaches/{both}").get_data(as_text=True)
    assert 'class="error"' in page  # overdue
    answer = owner.post(f"/organisations/acme/breaches/{both}/cnil",
                        data={"action": "file", "nature": "n"})
    assert answer.status_code == 422
    assert 'id="late_reason-error"' in answer.get_data(as_text=True)
    with app.app_context():
        assert affected(both, "acme").cnil_filed_at is None
    answer = owner.post(f"/organisations/acme/breaches/{both}/cnil",
                        data={"action": "file", "nature": "n", "late_reason": "Weekend"})
    assert answer.status_code == 303
    with app.app_context():
        row = affected(both, "acme")
        assert row.late_reason == "Weekend" and services.cnil_clock(row, utcnow()).late
    again = owner.post(f"/organisations/acme/breaches/{both}/cnil",
                       data={"action": "file", "late_reason": "Again"})
    assert again.status_code == 409


def test_filing_in_time_needs_no_reason(app, both):
    owner = signed_in(app, "owner@acme.test", slug="acme")
    answer = owner.post(f"/organisations/acme/breaches/{both}/cnil", data={"action": "file"})
    assert answer.status_code == 303
    with app.app_context():
        row = affected(both, "acme")
        assert row.cnil_filed_at is not None and not services.cnil_clock(row, utcnow()).late


# --- the participant notice ------------------------------------------------------------------

NOTICE = {"notice-subject": "About your data", "notice-nature": "A backup was readable",
          "notice-consequences": "Phishing", "notice-measures": "Be careful",
          "notice-contact": "dpo@acme.test"}


def test_notice_goes_to_confirmed_participants_of_that_organisation_only(app, outbox, both):
    with app.app_context():
        factories.participant("acme", "ada@example.org")
        factories.participant("acme", "bob@example.org", language="en")
        tenants_api.add_participant("acme", confirmed=False, email="unconfirmed@example.org")
        factories.participant("globex", "gil@example.org")
    owner = signed_in(app, "owner@acme.test", slug="acme")
    outbox.clear()
    answer = owner.post(f"/organisations/acme/breaches/{both}/notice",
                        data={"action": "send", **NOTICE})
    assert answer.status_code == 303
    assert sorted(m["To"] for m in outbox.messages) == ["ada@example.org", "bob@example.org"]
    mail = outbox.wait_for(lambda m: m["To"] == "bob@example.org")
    assert mail["Subject"] == "About your data"
    assert "dpo@acme.test" in outbox.text(mail) and "Acme" in outbox.text(mail)
    with app.app_context():
        row = affected(both, "acme")
        assert row.notice_sent_at is not None and row.notice_recipients == 2
        assert affected(both, "globex").notice_sent_at is None
        actions = [e.action for e in services.register(db.session(), tenant_id=row.tenant_id)]
        assert "notice_sent" in actions and "notice_emailed" in actions
    again = owner.post(f"/organisations/acme/breaches/{both}/notice",
                       data={"action": "send", **NOTICE})
    assert again.status_code == 409
    assert len(outbox.messages) == 2


def test_notice_without_a_contact_is_not_sent(app, outbox, both):
    with app.app_context():
        factories.participant("acme", "ada@example.org")
    owner = signed_in(app, "owner@acme.test", slug="acme")
    outbox.clear()
    answer = owner.post(f"/organisations/acme/breaches/{both}/notice",
                        data={"action": "send", **NOTICE, "notice-contact": "  "})
    assert answer.status_code == 422
    assert 'id="notice-contact-error"' in answer.get_data(as_text=True)
    assert outbox.messages == []
    with app.app_context():
        assert affected(both, "acme").notice_sent_at is None


# --- the register ----------------------------------------------------------------------------


def test_registers_export_each_step_and_a_tenant_sees_only_its_own(app, operator, both):
    owner = signed_in(app, "owner@acme.test", slug="acme")
    owner.post(f"/organisations/acme/breaches/{both}/notice",
               data={"action": "save", **NOTICE, "notice-subject": "=HYPERLINK(1)"})
    rows = list(csv.reader(io.StringIO(
        operator.get("/ops/breaches/register.csv").get_data(as_text=True).lstrip("\ufeff"))))
    organisations = {row[2] for row in rows[1:]}
    assert {"Acme", "Globex"} <= organisations
    mine = list(csv.reader(io.StringIO(owner.get("/organisations/acme/breaches.csv")
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    assert {row[2] for row in mine[1:]} == {"", "Acme"}
    assert len(mine) > 3
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(BreachEvent)) == len(rows) - 1
