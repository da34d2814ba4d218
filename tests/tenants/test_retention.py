"""Retention: the matrix and its page, a participant's lifecycle, the sweeps and receipts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from core import jobs
from core.clock import utcnow
from tenants import api as tenants_api
from tenants.events.models import Event
from tenants.instructions.models import Instruction
from tenants.participants.models import Participant, ParticipantToken
from tenants.ratings import services as ratings
from tenants.retention import services, sweep
from tenants.retention.models import RetentionCount, RetentionRule, RetentionRun
from tests import factories
from tests.fixtures.people import english, sign_in_member, sign_in_participant
from tests.tenants.registration_helpers import person
from tests.tenants.retention_helpers import MONTH, populate, state
from webapp import db as control
from webapp.models import RetentionSchedule, Tenant
from webapp.retention import tasks as retention_tasks

URL = "/t/acme/admin/retention"


def get(slug: str, participant_id: int) -> Participant | None:
    with tenants_api.tenant_context(slug) as db:
        return db.get(Participant, participant_id)


def run_sweep(app, slug: str = "acme"):  # type: ignore[no-untyped-def]
    with app.app_context():
        return tenants_api.sweep_retention(slug)


# --- the matrix --------------------------------------------------------------------------------


def test_defaults_are_product_numbers(ctx):
    with tenants_api.tenant_context("acme") as db:
        found = {key: (rule.duration, rule.kind.unit, rule.action)
                 for key, rule in services.rules(db).items()}
    assert found == {
        "inactive_accounts": (36, "months", "delete"),
        "deleted_accounts": (30, "days", "delete"),
        "form_answers": (12, "months", "delete"),
        "registrations": (12, "months", "delete"),
        "rating_comments": (36, "months", "anonymise"),
        "connection_logs": (12, "months", "delete"),
        "consent_proofs": (5, "years", "delete"),
        "rights_requests": (3, "years", "delete"),
    }


@pytest.mark.parametrize(("key", "duration", "action"), [
    ("inactive_accounts", 5, "delete"), ("inactive_accounts", 61, "delete"),
    ("deleted_accounts", -1, "delete"), ("deleted_accounts", 31, "delete"),
    ("connection_logs", 13, "delete"), ("consent_proofs", 7, "delete"),
    ("registrations", 12, "anonymise"), ("rating_comments", 36, "delete"),
    ("no_such_kind", 12, "delete"), ("registrations", "12", "delete"),
])
def test_refused_changes_change_nothing(ctx, key, duration, action):
    with tenants_api.tenant_context("acme") as db:
        with pytest.raises(services.RuleError) as refused:
            services.set_rule(db, key, duration, action)
        assert str(refused.value)
        assert db.scalar(select(func.count()).select_from(RetentionRule)) == 0
        assert db.scalar(select(func.count()).select_from(Instruction)) == 0


def test_a_change_is_kept_and_recorded_as_an_instruction(ctx):
    with tenants_api.tenant_context("acme") as db:
        services.set_rule(db, "registrations", 24, "delete")
        services.set_rule(db, "consent_proofs", 2, "delete")
        services.set_rule(db, "registrations", 24, "delete")  # unchanged: not logged again
    with tenants_api.tenant_context("acme") as db:
        assert services.rule(db, "registrations").duration == 24
        # Consent proofs keep the banner's value: one number for both pages.
        from tenants.consent import banner as consent_banner
        assert consent_banner.get_row(db).retention_years == 2
        assert services.rule(db, "consent_proofs").duration == 2
        logged = [i.summary for i in db.scalars(select(Instruction).order_by(Instruction.id))]
    # In the author's language (here the default, French).
    assert logged == [
        "Inscriptions aux événements\u00a0: conservation 12 mois, "
        "désormais 24 mois, puis suppression",
        "Preuves de consentement\u00a0: conservation 5 ans, désormais 2 ans, puis suppression"]
    with tenants_api.tenant_context("globex") as db:
        assert services.rule(db, "registrations").duration == 12


@pytest.mark.parametrize(("role", "status"), [
    ("owner", 200), ("admin", 200), ("manager", 403), ("moderator", 403), ("viewer", 403)])
def test_pages_are_for_admins(app, client, role, status):
    sign_in_member(client, "acme", role, in_english=True)
    for url in (URL, f"{URL}/upcoming", f"{URL}/receipts"):
        assert client.get(url).status_code == status
    assert client.post(f"{URL}/registrations",
                       data={"registrations-duration": "6"}).status_code in (status, 303)
    with tenants_api.tenant_context("acme") as db:
        assert services.rule(db, "registrations").duration == (6 if status == 200 else 12)


def test_pages_refuse_participants_and_visitors(app, client):
    """Not a member: a page sends to the members' sign-in, a change is refused."""
    for who in ("visitor", "participant"):
        if who == "participant":
            sign_in_participant(client, "acme", person("acme", "ann@example.org"))
        page = client.get(URL)
        assert page.status_code == 302 and "/login" in page.headers["Location"]
        assert client.post(f"{URL}/registrations",
                           data={"registrations-duration": "6"}).status_code == 401
    with tenants_api.tenant_context("acme") as db:
        assert services.rule(db, "registrations").duration == 12


def test_matrix_page_saves_and_refuses_with_the_reason(app, client):
    sign_in_member(client, "acme", "admin", in_english=True)
    page = client.get(URL).get_data(as_text=True)
    assert "Inactive participant accounts" in page and "36 months after last sign-in" in page
    saved = client.post(f"{URL}/rating_comments", data={"rating_comments-duration": "48"})
    assert saved.status_code == 303 and saved.headers["Location"].endswith("saved=rating_comments")
    assert "48 months after posting" in client.get(saved.headers["Location"]).get_data(as_text=True)
    for value in ("61", "abc", "", "5"):
        refused = client.post(f"{URL}/rating_comments", data={"rating_comments-duration": value})
        assert refused.status_code == 422
        text = refused.get_data(as_text=True)
        assert ("between 6 months and 60 months" in text if value in ("61", "5")
                else "whole number" in text.lower() or "valid integer" in text.lower())
    # htmx: only the row comes back.
    fragment = client.post(f"{URL}/connection_logs", data={"connection_logs-duration": "13"},
                           headers={"HX-Request": "true"})
    assert fragment.status_code == 422 and "<html" not in fragment.get_data(as_text=True)
    assert "between 1 month and 12 months" in fragment.get_data(as_text=True)
    ok = client.post(f"{URL}/connection_logs", data={"connection_logs-duration": "6"},
                     headers={"HX-Request": "true"})
    assert ok.status_code == 200 and 'role="status"' in ok.get_data(as_text=True)
    assert client.post(f"{URL}/nothing", data={}).status_code == 404
    with tenants_api.tenant_context("acme") as db:
        assert services.rule(db, "rating_comments").duration == 48
        assert services.rule(db, "connection_logs").duration == 6


def test_matrix_page_in_french(app, client):
    sign_in_member(client, "acme", "admin", in_english=True)
    with client.session_transaction() as cookie:
        cookie["lang"] = "fr"
    page = client.get(URL).get_data(as_text=True)
    assert 'lang="fr"' in page and "Durée de conservation" in page
    assert "36 mois après la dernière connexion, puis suppression" in page


# --- a participant's account ---------------------------------------------------------------------


def test_deleting_an_account_deactivates_it_at_once(app, client, outbox):
    me = person("acme", "ann@example.org")
    sign_in_participant(client, "acme", me)
    with app.test_request_context("/"), tenants_api.tenant_context("acme") as db:
        erase_at = services.request_deletion(db, db.get(Participant, me))
    assert erase_at.date() == (utcnow() + timedelta(days=30)).date()
    found = get("acme", me)
    assert found.deactivation_reason == "deleted" and not found.is_active
    assert client.get("/t/acme/me").status_code == 303  # every session has ended
    with tenants_api.tenant_context("acme") as db:
        assert not db.scalar(select(func.count()).select_from(ParticipantToken).where(
            ParticipantToken.used_at.is_(None), ParticipantToken.purpose == "session"))
    # Deactivated: no e-mail about its registrations (an active participant gets one).
    event = factories.event("acme")
    factories.registration("acme", event, me)
    factories.registration("acme", event, person("acme", "bob@example.org"))
    assert [m["To"] for m in outbox.messages] == ["bob@example.org"]


def test_signing_in_within_the_window_offers_reactivation(app, client, clock):
    me = person("acme", "ann@example.org")
    with app.test_request_context("/"), tenants_api.tenant_context("acme") as db:
        services.request_deletion(db, db.get(Participant, me))
    clock.advance(days=29)
    english(client)
    signed = factories.participant_login(client, "acme", "ann@example.org")
    assert signed.status_code == 303 and signed.headers["Location"].endswith("/account/reactivate")
    page = client.get("/t/acme/account/reactivate").get_data(as_text=True)
    assert "You asked for this account to be deleted" in page and "Reactivate my account" in page
    assert client.get("/t/acme/me").status_code == 303  # not signed in until they choose
    done = client.post("/t/acme/account/reactivate")
    assert done.status_code == 303 and done.headers["Location"].endswith("/me")
    assert client.get("/t/acme/me").status_code == 200
    found = get("acme", me)
    assert found.is_active and found.deactivation_reason is None
    # Spent: posting again without signing in does nothing.
    assert client.post("/t/acme/account/reactivate").status_code == 303


def test_a_password_reset_does_not_open_a_deactivated_account(app, client):
    me = person("acme", "ann@example.org")
    with app.test_request_context("/"), tenants_api.tenant_context("acme") as db:
        found = db.get(Participant, me)
        services.request_deletion(db, found)
        from tenants.participants import services as participants
        token = participants.issue_token(db, found, "reset")
    new = "another sturdy passphrase"
    done = client.post(f"/t/acme/password/reset/{token}",
                       data={"password": new, "password_confirm": new})
    assert done.status_code == 303 and done.headers["Location"].endswith("/account/reactivate")
    assert client.get("/t/acme/me").status_code == 303
    assert not get("acme", me).is_active


def test_too_late_to_reactivate(app, client, clock):
    me = person("acme", "ann@example.org")
    with app.test_request_context("/"), tenants_api.tenant_context("acme") as db:
        services.request_deletion(db, db.get(Participant, me))
    clock.advance(days=31)
    english(client)
    factories.participant_login(client, "acme", "ann@example.org")
    page = client.get("/t/acme/account/reactivate").get_data(as_text=True)
    assert "The time to reactivate it has passed" in page and "Reactivate my account" not in page
    assert client.post("/t/acme/account/reactivate").status_code == 422
    assert not get("acme", me).is_active


def test_schedule_for_says_when_and_why(app, client):
    me = person("acme", "ann@example.org")
    now = utcnow()
    with tenants_api.tenant_context("acme") as db:
        db.execute(update(Participant).values(last_active_at=now))
    with app.test_request_context("/"), tenants_api.tenant_context("acme") as db:
        found = {e.kind: e for e in services.schedule_for(db, db.get(Participant, me))}
        assert found["inactive_accounts"].until == services.shift(now, "months", 36).date()
        assert "36 mois" in found["inactive_accounts"].why  # French, the default
        assert found["registrations"].until is None
        assert set(found) == {"inactive_accounts", "form_answers", "registrations",
                              "rating_comments", "connection_logs", "consent_proofs",
                              "rights_requests"}
        services.request_deletion(db, db.get(Participant, me))
        found = {e.kind: e for e in services.schedule_for(db, db.get(Participant, me))}
        assert found["deleted_accounts"].until == (now + timedelta(days=30)).date()


def test_calendar_months():
    from datetime import UTC, datetime

    assert services.shift(datetime(2026, 1, 31, tzinfo=UTC), "months", 1).day == 28
    assert services.shift(datetime(2028, 2, 29, tzinfo=UTC), "years", -1).day == 28
    assert services.shift(datetime(2026, 3, 31, tzinfo=UTC), "months", -13) == datetime(
        2025, 2, 28, tzinfo=UTC)


# --- the sweep ----------------------------------------------------------------------------------


def test_a_sweep_applies_every_rule_and_leaves_a_receipt(app, outbox):
    populate("acme")
    populate("globex")
    before = state("globex")
    outbox.clear()
    run_sweep(app)
    after = state("acme")
    assert after["participants"] == sorted(
        [(f"to_warn{i}", True, "") for i in range(3)]
        + [(f"warned{i}", True, "inactive") for i in range(3)]
        + [(f"active{i}", False, "") for i in range(3)])
    assert after["registrations"] == 3 and after["answers"] == 3
    assert after["comments"] == ["", "", "", "", "", "Comment 1"]
    assert after["ratings"] == before["ratings"]  # every star stays
    assert (after["tokens"], after["failures"], after["proofs"]) == (3, 6, 6)
    assert state("globex") == before  # the other tenant is untouched
    warned = sorted(m["To"] for m in outbox.messages)
    with tenants_api.tenant_context("acme") as db:
        lines = {(line.kind, line.step): line.rows for line in db.scalars(select(RetentionCount))}
        runs = list(db.scalars(select(RetentionRun)))
    assert len(runs) == 1 and runs[0].finished_at is not None
    assert lines == {("inactive_accounts", "warned"): 3, ("inactive_accounts", "deactivated"): 3,
                     ("inactive_accounts", "erased"): 3, ("deleted_accounts", "erased"): 3,
                     ("registrations", "deleted"): 3, ("rating_comments", "anonymised"): 2,
                     ("connection_logs", "sign_ins"): 3, ("connection_logs", "failures"): 6,
                     ("consent_proofs", "deleted"): 6}
    assert warned == [f"to_warn{i}-acme@example.org" for i in range(3)]
    # A second sweep finds nothing: idempotent.
    run_sweep(app)
    assert state("acme") == after


def test_rights_requests_go_years_after_closing_and_open_ones_stay(app):
    from tenants.rights.models import RightsRequest

    now = utcnow()
    with tenants_api.tenant_context("acme") as db:
        for email, status, completed, code_expires in (
                ("old@example.org", "completed", now - 37 * MONTH, None),
                ("recent@example.org", "completed", now - 30 * MONTH, None),
                ("stale@example.org", "unverified", None, now - 40 * MONTH),
                ("open@example.org", "open", None, now - 40 * MONTH)):
            db.add(RightsRequest(kind="access", email=email, source="form", status=status,
                                 created_at=now - 41 * MONTH, completed_at=completed,
                                 code_expires_at=code_expires))
    run_sweep(app)
    with tenants_api.tenant_context("acme") as db:
        assert sorted(db.scalars(select(RightsRequest.email))) == [
            "open@example.org", "recent@example.org"]


def test_anonymised_comments_keep_the_aggregates_true(app):
    populate("acme")
    with tenants_api.tenant_context("acme") as db:
        event_id = db.scalar(select(Event.id).where(Event.ends_at < utcnow()
                                                     - 12 * MONTH))
        before = ratings.summary(db, event_id)
    run_sweep(app)
    with tenants_api.tenant_context("acme") as db:
        assert ratings.summary(db, event_id) == before
        ratings.recount(db, event_id)  # recomputed from the rows: the same
        assert ratings.summary(db, event_id) == before


def test_inactivity_cycle_with_the_clock(app, client, clock, outbox):
    me = person("acme", "ann@example.org")
    with tenants_api.tenant_context("acme") as db:
        db.execute(update(Participant).values(last_active_at=utcnow()))
    now = utcnow()
    clock.advance(days=(services.shift(now, "months", 36) - now).days - 40)
    run_sweep(app)
    assert get("acme", me).inactivity_warned_at is None  # not yet
    clock.advance(days=20)
    outbox.clear()
    run_sweep(app)
    assert get("acme", me).inactivity_warned_at is not None
    warning = outbox.wait_for(lambda m: m["To"] == "ann@example.org")
    assert "deactivated" in warning["Subject"] and "/t/acme/login" in outbox.text(warning)
    clock.advance(days=31)
    run_sweep(app)
    assert get("acme", me).deactivation_reason == "inactive"
    clock.advance(days=31)
    run_sweep(app)
    assert get("acme", me) is None


def test_signing_in_after_the_warning_keeps_the_account(app, client, clock):
    me = person("acme", "ann@example.org")
    with tenants_api.tenant_context("acme") as db:
        db.execute(update(Participant).values(
            last_active_at=utcnow() - 36 * MONTH + timedelta(days=20)))
    run_sweep(app)
    assert get("acme", me).inactivity_warned_at is not None
    assert factories.participant_login(client, "acme", "ann@example.org").status_code == 303
    assert get("acme", me).inactivity_warned_at is None
    clock.advance(days=40)
    run_sweep(app)
    assert get("acme", me).is_active


def test_dry_run_counts_without_changing(app, client):
    populate("acme")
    sign_in_member(client, "acme", "admin", in_english=True)
    before = state("acme")
    page = client.get(f"{URL}/upcoming").get_data(as_text=True)
    assert state("acme") == before
    with tenants_api.tenant_context("acme") as db:
        counted = {(step.kind, step.name): rows for step, rows in sweep.upcoming(db)}
    assert counted[("inactive_accounts", "warned")] == 3
    assert counted[("deleted_accounts", "erased")] == 3
    assert "What expires in the next 30 days" in page


def test_receipts_page_lists_runs_without_personal_data(app, client):
    populate("acme")
    run_sweep(app)
    sign_in_member(client, "acme", "admin", in_english=True)
    page = client.get(f"{URL}/receipts").get_data(as_text=True)
    assert "Inactive participant accounts" in page and "warned by e-mail" in page
    assert "@example.org" not in page and "to_warn" not in page
    assert client.get(f"{URL}/receipts?page=999999999").status_code == 200


# --- the fleet: only due tenants, next due dates --------------------------------------------------


def schedule(slug: str) -> RetentionSchedule | None:
    session = control.session()
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
    return session.get(RetentionSchedule, tenant.id)


def test_the_periodic_task_queues_only_due_tenants(app, clock):
    populate("acme")
    with app.app_context():
        assert retention_tasks.queue_due_sweeps.call_local() == 2  # never swept: both due
        control.commit()
        acme, globex = schedule("acme"), schedule("globex")
        assert acme.swept_at is not None and acme.queued_at is None
        # acme has data due within the hour (it warned 3 accounts 0 days ago → deactivation in
        # 30 days); globex holds nothing: its next sweep is the shortest duration away.
        assert acme.next_due_at < globex.next_due_at
        assert globex.next_due_at >= utcnow() + timedelta(days=27)
        assert retention_tasks.queue_due_sweeps.call_local() == 0  # nothing due now
    clock.advance(days=31)
    with app.app_context():
        assert retention_tasks.queue_due_sweeps.call_local() == 1  # acme only
        control.commit()


def test_a_deletion_brings_the_sweep_forward(app, client):
    me = person("acme", "ann@example.org")
    with app.app_context():
        retention_tasks.queue_due_sweeps.call_local()
        control.commit()
        planned = schedule("acme").next_due_at
    with app.test_request_context("/t/acme/"):
        with tenants_api.tenant_context("acme") as db:
            erase_at = services.request_deletion(db, db.get(Participant, me))
        control.commit()
    with app.app_context():
        assert schedule("acme").next_due_at == min(planned, erase_at)


def test_a_restricted_account_is_held_out_of_the_inactivity_cycle(app, clock):
    """Restriction is asked instead of erasure (Art. 18(1)(b)); lifting it restarts the cycle."""
    from tenants.rights.models import PrivacyChoices

    me = person("acme", "ann@example.org")
    with tenants_api.tenant_context("acme") as db:
        db.execute(update(Participant).values(last_active_at=utcnow() - 40 * MONTH))
        db.add(PrivacyChoices(participant_id=me, restricted_at=utcnow()))
    run_sweep(app)
    clock.advance(days=70)
    run_sweep(app)
    assert get("acme", me).inactivity_warned_at is None
    assert get("acme", me).deactivated_at is None
    with tenants_api.tenant_context("acme") as db:
        db.get(PrivacyChoices, me).restricted_at = None
    run_sweep(app)
    assert get("acme", me).inactivity_warned_at is not None


LOST: list[int] = []


@jobs.tenant_task()
def lose_warning(slug: str, participant_id: int) -> None:
    """A warning job that sends nothing (every try of the real one failed)."""
    LOST.append(participant_id)


def test_a_warning_lost_after_its_batch_is_sent_an_hour_later_and_counts_from_then(
        app, outbox, clock, monkeypatch):
    """Every try of the e-mail job failed (it ran, and sent nothing)."""
    populate("acme")
    from tenants.retention import tasks

    LOST.clear()
    monkeypatch.setattr(tasks, "send_inactivity_warning", lose_warning)
    with app.app_context():
        tenants_api.sweep_retention("acme")
    assert len(LOST) == 3 and [m for m in outbox.messages if "to_warn" in m["To"]] == []
    monkeypatch.undo()

    with app.app_context():
        tenants_api.sweep_retention("acme")  # within the hour: not yet sent again
    assert [m for m in outbox.messages if "to_warn" in m["To"]] == []
    clock.advance(hours=2)
    with app.app_context():
        tenants_api.sweep_retention("acme")
        tenants_api.sweep_retention("acme")  # a second sweep sends nothing more
    warned = sorted(m["To"] for m in outbox.messages if "to_warn" in m["To"])
    assert warned == [f"to_warn{i}-acme@example.org" for i in range(3)]

    # 30 days after the e-mail, not after the batch: still active 29 days and 23 hours on.
    clock.advance(days=29, hours=23)
    with app.app_context():
        tenants_api.sweep_retention("acme")
    with tenants_api.tenant_context("acme") as db:
        assert db.scalar(select(func.count()).select_from(Participant).where(
            Participant.email.like("to_warn%"), Participant.deactivated_at.is_not(None))) == 0
    clock.advance(hours=2)
    with app.app_context():
        tenants_api.sweep_retention("acme")
    with tenants_api.tenant_context("acme") as db:
        assert db.scalar(select(func.count()).select_from(Participant).where(
            Participant.email.like("to_warn%"), Participant.deactivated_at.is_not(None))) == 3
