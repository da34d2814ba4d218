"""Erasing a participant: ratings keep their stars as "Former participant" without the comment,
seats go to the waiting list, the rest is deleted; only admins, after a confirmation."""

from __future__ import annotations

from sqlalchemy import func, select

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.audit.models import AccessLog
from tenants.consent.models import ConsentEntry
from tenants.fields.models import Answer
from tenants.participants.models import Participant, ParticipantToken
from tenants.registration.models import Registration
from tests import factories
from tests.fixtures.people import english, sign_in_member, sign_in_participant
from tests.tenants.ratings_helpers import all_ratings, past_event, people, ratings
from tests.tenants.registration_helpers import person, status


def rows(model: type, **where: object) -> int:
    with tenants_api.tenant_context("acme") as session:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return session.scalar(stmt) or 0


def test_erasing_an_author_keeps_the_average_and_removes_name_and_comment(app) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    author = person("acme", "zoe@example.org", first_name="Zoé", last_name="Lambert")
    ratings("acme", event_id, [1], comment="Far too long.", participant_ids=[author])
    ratings("acme", event_id, [5, 5, 5, 5], participant_ids=people("acme", 4, 10))
    reader = english(app.test_client())
    before = reader.get(f"/t/acme/events/{event_id}").text
    assert "Average rating: 4.2 out of 5, from 5 ratings." in before and "Zoé L." in before

    admin = sign_in_member(app.test_client(), "acme", "admin", in_english=True)
    confirm = admin.get(f"/t/acme/admin/participants/{author}/erase")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    refused = admin.post(f"/t/acme/admin/participants/{author}/erase", data={})
    assert refused.status_code == 422 and "Tick the box" in refused.text
    assert rows(Participant, id=author) == 1
    done = admin.post(f"/t/acme/admin/participants/{author}/erase", data={"confirm": "y"})
    assert done.status_code == 303
    assert "is erased" in admin.get(done.headers["Location"]).text

    after = reader.get(f"/t/acme/events/{event_id}").text
    assert "Average rating: 4.2 out of 5, from 5 ratings." in after
    assert "Zoé" not in after and "Far too long." not in after
    assert "Former participant" in after
    assert (None, 1, "", "published") in all_ratings("acme")
    assert rows(Participant, id=author) == 0
    assert rows(AccessLog, action="participant.erase", target=f"participant:{author}") == 1


def test_erasure_releases_seats_to_the_waiting_list_and_deletes_everything(app, outbox) -> None:  # type: ignore[no-untyped-def]
    event_id = factories.event("acme", capacity=1)
    leaving = person("acme", "leaving@example.org")
    waiting = person("acme", "waiting@example.org")
    assert factories.registration("acme", event_id, leaving) == "confirmed"
    assert factories.registration("acme", event_id, waiting) == "waitlisted"
    field_id = factories.custom_field("acme")
    with tenants_api.tenant_context("acme") as session:
        session.add(Answer(participant_id=leaving, field_id=field_id, value="ACME"))
        session.add(ConsentEntry(consent_id="c" * 43, chain_id="c" * 43, kind="registration",
                                 choices={}, version=1, texts_hash="0" * 64,
                                 participant_id=leaving, created_at=utcnow()))
    sign_in_participant(app.test_client(), "acme", leaving)  # a session token
    sent_before = len(outbox.messages)

    admin = sign_in_member(app.test_client(), "acme", "owner", in_english=True)
    assert admin.post(f"/t/acme/admin/participants/{leaving}/erase",
                      data={"confirm": "y"}).status_code == 303

    with tenants_api.tenant_context("acme") as session:
        waiting_registration = session.scalar(select(Registration.id).where(
            Registration.participant_id == waiting))
    assert status("acme", waiting_registration) == "confirmed"
    assert rows(Registration, participant_id=leaving) == 0
    assert rows(Answer, participant_id=leaving) == 0
    assert rows(ParticipantToken, participant_id=leaving) == 0
    # The consent proof stays, pointing at no one.
    assert rows(ConsentEntry, participant_id=leaving) == 0 and rows(ConsentEntry) == 1
    # The one promoted is told; the erased person is not written to any more.
    assert [(m["To"], m["Subject"]) for m in outbox.messages[sent_before:]] == [
        ("waiting@example.org", "A seat is free: you are registered to Workshop")]


def test_only_admins_erase_and_unknown_or_foreign_ids_are_404(app) -> None:  # type: ignore[no-untyped-def]
    pid = person("acme", "kept@example.org")
    foreign = person("globex", "other@example.org")
    for role in ("manager", "viewer"):
        member = sign_in_member(app.test_client(), "acme", role, in_english=True)
        assert member.post(f"/t/acme/admin/participants/{pid}/erase",
                           data={"confirm": "y"}).status_code == 403
    admin = sign_in_member(app.test_client(), "acme", "admin", in_english=True)
    assert admin.get("/t/acme/admin/participants/999999/erase").status_code == 404
    if foreign != pid:
        assert admin.post(f"/t/acme/admin/participants/{foreign}/erase",
                          data={"confirm": "y"}).status_code == 404
    with tenants_api.tenant_context("globex") as session:
        assert session.get(Participant, foreign) is not None
    assert rows(Participant, id=pid) == 1
    # The admin's record page links to the erasure; a viewer's does not.
    assert f"/t/acme/admin/participants/{pid}/erase" in admin.get(
        f"/t/acme/admin/participants/{pid}").text


def test_an_erased_participant_is_signed_out(app) -> None:  # type: ignore[no-untyped-def]
    pid = person("acme", "gone@example.org")
    me = english(sign_in_participant(app.test_client(), "acme", pid))
    assert "gone@example.org" in me.get("/t/acme/me").text
    sign_in_member(app.test_client(), "acme", "admin", in_english=True).post(
        f"/t/acme/admin/participants/{pid}/erase", data={"confirm": "y"})
    assert me.get("/t/acme/me").status_code in (302, 303)
