"""Answers to the registration form follow the clock of the registration they were given for
(PRODUCT.md, "Retention and deletion": registrations and custom-field answers, event end, 12
months, 1-36 months): which registration holds each answer, the sweep, the tenant's setting,
and the rights (export, erasure) that still see every answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.events.models import Event
from tenants.fields.models import Answer, CustomField
from tenants.instructions.models import Instruction
from tenants.participants.models import Participant
from tenants.registration.models import Registration
from tenants.retention import services as retention
from tenants.retention.models import RetentionCount
from tenants.rights import services as rights
from tests import factories
from tests.fixtures.people import sign_in_member, sign_in_participant
from tests.tenants.account_helpers import signup_data
from tests.tenants.registration_helpers import person

DAY = timedelta(days=1)


def fields(app) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        company = factories.custom_field("acme", "text", position=1)
        meal = factories.custom_field("acme", "text", position=2,
                                      label={"fr": "Repas", "en": "Meal"})
    return company, meal


def held(participant_id: int) -> dict[int, tuple[str, int | None]]:
    """Field -> (value, event of the registration the answer belongs to)."""
    with tenants_api.tenant_context("acme") as db:
        rows = db.execute(select(Answer.field_id, Answer.value, Registration.event_id)
                          .outerjoin(Registration, Registration.id == Answer.registration_id)
                          .where(Answer.participant_id == participant_id))
        return {field: (value, event) for field, value, event in rows}


def registered_to(participant_id: int) -> list[int]:
    with tenants_api.tenant_context("acme") as db:
        return sorted(db.scalars(select(Registration.event_id).where(
            Registration.participant_id == participant_id)))


def sweep(app) -> dict[tuple[str, str], int]:  # type: ignore[no-untyped-def]
    """Sweep acme; the receipt's lines of this sweep."""
    with app.app_context():
        tenants_api.sweep_retention("acme")
    with tenants_api.tenant_context("acme") as db:
        last = db.scalar(select(func.max(RetentionCount.run_id)))
        return {(line.kind, line.step): line.rows for line in db.scalars(
            select(RetentionCount).where(RetentionCount.run_id == last))}


def event_end(event_id: int):  # type: ignore[no-untyped-def]
    with tenants_api.tenant_context("acme") as db:
        return db.get(Event, event_id).ends_at


def test_a_regular_participants_old_answers_go_12_months_after_the_event_they_were_given_for(
        app, client, clock):
    """Signed up for a first event with two answers; the form's meal question is removed;
    registered again a month later. The meal answer belongs to the first event and goes 12
    months after it ends, although its author still holds a registration; the company answer
    was given again for the second event, and goes 12 months after that one."""
    company, meal = fields(app)
    first = factories.event("acme")
    signed_up = client.post(f"/t/acme/events/{first}/signup", data=signup_data(
        "reg@example.org", **{f"custom_{company}": "Acme", f"custom_{meal}": "Vegetarian"}))
    assert signed_up.status_code == 303
    with tenants_api.tenant_context("acme") as db:
        me = db.scalar(select(Participant.id).where(Participant.email == "reg@example.org"))
        db.execute(update(Participant).where(Participant.id == me)
                   .values(email_confirmed_at=utcnow()))
    assert held(me) == {company: ("Acme", first), meal: ("Vegetarian", first)}

    clock.advance(days=30)
    with tenants_api.tenant_context("acme") as db:
        db.execute(update(CustomField).where(CustomField.id == meal)
                   .values(archived_at=utcnow()))
    second = factories.event("acme")
    factories.registration("acme", second, me)
    assert held(me) == {company: ("Acme", second), meal: ("Vegetarian", first)}

    # 12 months after the first event: its registration and the answer given only for it go.
    at_first = retention.shift(event_end(first), "months", 12)
    clock.advance(seconds=(at_first - utcnow()).total_seconds() - 3600)
    assert ("form_answers", "deleted") not in sweep(app)
    assert held(me) == {company: ("Acme", second), meal: ("Vegetarian", first)}
    clock.advance(hours=2)
    lines = sweep(app)
    assert lines[("form_answers", "deleted")] == 1 and lines[("registrations", "deleted")] == 1
    assert held(me) == {company: ("Acme", second)} and registered_to(me) == [second]

    # 12 months after the second: the rest goes, the account stays.
    at_second = retention.shift(event_end(second), "months", 12)
    clock.advance(seconds=(at_second - utcnow()).total_seconds() + 3600)
    lines = sweep(app)
    assert lines[("form_answers", "deleted")] == 1
    assert held(me) == {} and registered_to(me) == []
    with tenants_api.tenant_context("acme") as db:
        assert db.get(Participant, me) is not None


def test_answers_go_on_their_own_clock_when_registrations_are_kept_longer(app, clock):
    """Registrations kept 24 months, answers 12: at 12 months the answers go, the registration
    stays (PRODUCT's rule: the tenant sets each within its bounds)."""
    company, _meal = fields(app)
    event = factories.event("acme")
    me = person("acme", "ann@example.org")
    with app.app_context(), tenants_api.tenant_context("acme") as db:
        db.add(Answer(participant_id=me, field_id=company, value="Acme"))
        retention.set_rule(db, "registrations", 24, "delete")
    factories.registration("acme", event, me)
    clock.advance(seconds=(retention.shift(event_end(event), "months", 12) - utcnow())
                  .total_seconds() + 60)
    assert sweep(app) == {("form_answers", "deleted"): 1}
    assert held(me) == {} and registered_to(me) == [event]


def test_an_answer_changed_later_belongs_to_the_coming_registration_that_ends_last(app, client):
    company, _meal = fields(app)
    me = person("acme", "ann@example.org")
    soon = factories.event("acme")
    later = factories.event("acme", starts_at=utcnow() + 60 * DAY,
                            ends_at=utcnow() + 60 * DAY + timedelta(hours=2))
    with tenants_api.tenant_context("acme") as db:
        db.add(Answer(participant_id=me, field_id=company, value="Acme"))
    factories.registration("acme", later, me)
    factories.registration("acme", soon, me)  # ends sooner: the answer stays with "later"
    assert held(me) == {company: ("Acme", later)}

    sign_in_participant(client, "acme", me)
    profile = {"first_name": "Ann", "last_name": "Tester", "email_language": "en",
               f"custom_{company}": "Globex"}
    with tenants_api.tenant_context("acme") as db:
        db.execute(update(Registration).where(Registration.event_id == later)
                   .values(status="cancelled"))
    assert client.post("/t/acme/me", data=profile).status_code == 303
    assert held(me) == {company: ("Globex", soon)}  # a cancelled one is not given answers

    with tenants_api.tenant_context("acme") as db:
        db.execute(update(Registration).where(Registration.participant_id == me)
                   .values(status="cancelled"))
    assert client.post("/t/acme/me", data={**profile, f"custom_{company}": "Initech"}
                       ).status_code == 303
    assert held(me) == {company: ("Initech", None)}  # counts from the change


def test_export_and_erasure_see_every_answer(app):
    company, meal = fields(app)
    me = person("acme", "ann@example.org")
    event = factories.event("acme")
    with tenants_api.tenant_context("acme") as db:
        db.add(Answer(participant_id=me, field_id=company, value="Acme"))
    factories.registration("acme", event, me)
    with tenants_api.tenant_context("acme") as db:
        db.add(Answer(participant_id=me, field_id=meal, value="Vegan"))  # belongs to none
    with app.test_request_context("/"), tenants_api.tenant_context("acme") as db:
        found = db.get(Participant, me)
        assert rights.export_data(db, found)["answers"] == [
            {"field": "Company", "value": "Acme"}, {"field": "Meal", "value": "Vegan"}]
        kept = {e.kind: e for e in retention.schedule_for(db, found)}
        assert kept["form_answers"].until is not None
        assert kept["form_answers"].until <= retention.shift(
            event_end(event), "months", 12).date()
        rights.erase(db, found)
    assert held(me) == {} and registered_to(me) == []


# --- the tenant's setting --------------------------------------------------------------------


def test_answers_are_never_kept_longer_than_their_registrations(ctx):
    with tenants_api.tenant_context("acme") as db:
        with pytest.raises(retention.RuleError) as refused:
            retention.set_rule(db, "form_answers", 13, "delete")
        assert "plus longtemps que les inscriptions (12 mois)" in str(refused.value)
        assert db.scalar(select(func.count()).select_from(Instruction)) == 0
        for out_of_bounds in (0, 37):
            with pytest.raises(retention.RuleError):
                retention.set_rule(db, "form_answers", out_of_bounds, "delete")
        retention.set_rule(db, "form_answers", 3, "delete")
        # Registrations shortened below the answers' duration take the answers along.
        retention.set_rule(db, "registrations", 2, "delete")
        assert (retention.rule(db, "form_answers").duration,
                retention.rule(db, "registrations").duration) == (2, 2)
        logged = [i.summary for i in db.scalars(select(Instruction).order_by(Instruction.id))]
    assert len(logged) == 3 and logged[1].startswith("Réponses au formulaire d'inscription")


def test_the_matrix_page_swaps_the_answers_row_when_registrations_take_it_along(app, client):
    sign_in_member(client, "acme", "admin", in_english=True)
    page = client.get("/t/acme/admin/retention").get_data(as_text=True)
    assert "Registration-form answers" in page and 'id="rule-form_answers"' in page
    refused = client.post("/t/acme/admin/retention/form_answers",
                          data={"form_answers-duration": "20"}, headers={"HX-Request": "true"})
    assert refused.status_code == 422
    assert "cannot be kept longer than registrations" in refused.get_data(as_text=True)
    shorter = client.post("/t/acme/admin/retention/registrations",
                          data={"registrations-duration": "6"}, headers={"HX-Request": "true"})
    body = shorter.get_data(as_text=True)
    assert shorter.status_code == 200
    assert 'id="rule-form_answers"' in body and 'hx-swap-oob="true"' in body
    assert "6 months after event end" in body
