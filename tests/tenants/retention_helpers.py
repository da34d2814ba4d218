"""A tenant holding some data of every kind the retention sweep handles, due or not."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, insert, select

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.consent.models import ConsentEntry
from tenants.events.models import Event
from tenants.fields.models import Answer, CustomField
from tenants.participants.models import Participant, ParticipantLoginFailure, ParticipantToken
from tenants.ratings import services as ratings
from tenants.ratings.models import Rating
from tenants.registration.models import Registration

DAY = timedelta(days=1)
MONTH = timedelta(days=31)


def populate(slug: str, n: int = 3) -> None:
    """``n`` rows of each situation: accounts inactive for 40 months (to warn), warned 31 days
    ago (to deactivate), deactivated 31 days ago (to erase), deleted by their owner 31 days ago
    (to erase) and active ones; registrations and answers of an event ended 13 months ago and
    of one ended last week; old and new review comments, sign-ins, failed sign-ins and consent
    proofs."""
    now = utcnow()
    with tenants_api.tenant_context(slug) as db:
        field = CustomField(type="text", label={"en": "Company"}, purpose={"en": "Groups"})
        old_event = Event(title={"en": "Old"}, starts_at=now - 13 * MONTH - DAY,
                          ends_at=now - 13 * MONTH, status="published")
        new_event = Event(title={"en": "New"}, starts_at=now - 8 * DAY,
                          ends_at=now - 7 * DAY, status="published")
        db.add_all([field, old_event, new_event])
        db.flush()
        people: dict[str, list[Participant]] = {}
        for situation, values in {
            "to_warn": {"last_active_at": now - 40 * MONTH},
            "warned": {"last_active_at": now - 40 * MONTH,
                       "inactivity_warned_at": now - 31 * DAY,
                       "inactivity_warning_sent_at": now - 31 * DAY},
            "inactive": {"last_active_at": now - 40 * MONTH,
                         "inactivity_warned_at": now - 62 * DAY,
                         "inactivity_warning_sent_at": now - 62 * DAY,
                         "deactivated_at": now - 31 * DAY, "deactivation_reason": "inactive"},
            "deleted": {"last_active_at": now - 2 * MONTH, "deactivated_at": now - 31 * DAY,
                        "deactivation_reason": "deleted"},
            "active": {"last_active_at": now - DAY},
        }.items():
            people[situation] = [Participant(email=f"{situation}{i}-{slug}@example.org",
                                             first_name=situation, last_name=f"N{i}",
                                             email_confirmed_at=now, **values)
                                 for i in range(n)]
            db.add_all(people[situation])
        db.flush()
        for i, person in enumerate(people["active"] + people["deleted"]):
            old = Registration(event_id=old_event.id, participant_id=person.id,
                               status="confirmed", created_at=now - 14 * MONTH,
                               attended_at=old_event.ends_at)
            db.add(old)
            held = old
            if person in people["active"]:  # registered again with their answers on file
                held = Registration(event_id=new_event.id, participant_id=person.id,
                                    status="confirmed", created_at=now - MONTH)
                db.add(held)
            db.flush()
            db.add(Answer(participant_id=person.id, field_id=field.id, value=f"Co {i}",
                          registration_id=held.id, updated_at=now - 14 * MONTH))
            age = 37 * MONTH if i % 2 == 0 else MONTH
            db.add(Rating(event_id=old_event.id, participant_id=person.id, stars=1 + i % 5,
                          comment=f"Comment {i}", status="published", created_at=now - age))
            for ago in (13 * MONTH, DAY):
                db.add(ParticipantToken(token_hash=secrets.token_hex(32),
                                        participant_id=person.id, purpose="session",
                                        created_at=now - ago - DAY, expires_at=now - ago))
                db.add(ParticipantLoginFailure(key=secrets.token_hex(8), at=now - ago))
            for ago in (6 * 366 * DAY, DAY):
                db.add(ConsentEntry(consent_id=secrets.token_urlsafe(32),
                                    chain_id=secrets.token_urlsafe(32), kind="cookies",
                                    choices={}, version=1, texts_hash="0" * 64,
                                    participant_id=None, created_at=now - ago - 400 * DAY,
                                    expires_at=now - ago, replaced_at=None))
        db.flush()
        ratings.recount(db, old_event.id)


def state(slug: str) -> dict:
    """What the tenant holds, as comparable values (ids are per tenant, so by e-mail prefix)."""
    with tenants_api.tenant_context(slug) as db:
        def count(model) -> int:  # type: ignore[no-untyped-def]
            return db.scalar(select(func.count()).select_from(model)) or 0

        return {
            "participants": sorted(
                (p.email.split("-")[0], p.inactivity_warned_at is not None,
                 p.deactivation_reason or "")
                for p in db.scalars(select(Participant))),
            "registrations": count(Registration),
            "answers": count(Answer),
            "comments": sorted(db.scalars(select(Rating.comment))),
            "ratings": sorted(db.scalars(select(Rating.stars))),
            "tokens": count(ParticipantToken),
            "failures": count(ParticipantLoginFailure),
            "proofs": count(ConsentEntry),
        }


def backlog(slug: str, *, idle: int, expired: int) -> None:
    """A sweep with work to do for a while: ``idle`` more accounts inactive for 40 months (to
    warn; ``idle{i}-{slug}@…``, every other one in English), and ``expired`` expired sign-ins,
    failed sign-ins and consent proofs (a third each) next to as many recent ones (kept).
    Written in bulk statements, so thousands of rows take a moment."""
    now = utcnow()
    with tenants_api.tenant_context(slug) as db:
        db.execute(insert(Participant), [
            {"email": f"idle{i}-{slug}@example.org", "first_name": "Idle", "last_name": f"N{i}",
             "language": "en" if i % 2 else "fr", "email_confirmed_at": now,
             "last_active_at": now - 40 * MONTH} for i in range(idle)])
        owner = Participant(email=f"backlog-{slug}@example.org", last_active_at=now - DAY,
                            email_confirmed_at=now)
        db.add(owner)
        db.flush()
        third = expired // 3
        for ago, count in ((13 * MONTH, third), (DAY, 20)):
            db.execute(insert(ParticipantToken), [
                {"token_hash": secrets.token_hex(32), "participant_id": owner.id,
                 "purpose": "session", "created_at": now - ago - DAY, "expires_at": now - ago}
                for _ in range(count)])
            db.execute(insert(ParticipantLoginFailure), [
                {"key": secrets.token_hex(8), "at": now - ago} for _ in range(count)])
        for ago, count in ((6 * 366 * DAY, expired - 2 * third), (DAY, 20)):
            db.execute(insert(ConsentEntry), [
                {"consent_id": secrets.token_urlsafe(32), "chain_id": secrets.token_urlsafe(32),
                 "kind": "cookies", "choices": {}, "version": 1, "texts_hash": "0" * 64,
                 "participant_id": None, "created_at": now - ago - 400 * DAY,
                 "expires_at": now - ago, "replaced_at": None} for _ in range(count)])
