"""The tenant migration e7a00000000c attaches each existing answer to the registration it
served (tenants/fields/answers.py: the one whose event ends last among those made with the
answer on file, or whose event had not ended when it last changed; for a question since
removed from the form, one made before the removal), or to none."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import MetaData, Table, insert, select

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.events.models import Event
from tenants.fields.models import Answer, CustomField
from tenants.participants.models import Participant
from tenants.registration.models import Registration
from tenants.settings import version
from tests import factories
from webapp import migrate

pytestmark = pytest.mark.spans_connections  # migrations run on their own connections

BEFORE, REVISION = "e6a0000000a6", "e7a00000000c"
MONTH = timedelta(days=31)


# Columns later migrations added: rows written "as the old schema had them" leave them out.
ADDED_SINCE = {"events": {"join_opens_minutes", "calendar_sequence"},
               "registrations": {"join_token", "calendar_sequence"}}
_BEFORE_METADATA = MetaData()


def as_before(model: type) -> Table:
    """``model``'s table without the columns added after this test's migration."""
    table = model.__table__  # type: ignore[attr-defined]
    added = ADDED_SINCE.get(table.name, set())
    return Table(table.name, _BEFORE_METADATA, *(c._copy() for c in table.c if c.name not in added),
                 extend_existing=True)


def test_existing_answers_move_to_the_registration_they_served(ctx: Flask) -> None:
    slug = "answers-move"
    factories.tenant(slug)
    migrate.migrate_tenant(slug, BEFORE, downgrade=True)
    now = utcnow()
    with tenants_api.tenant_context(slug) as db:  # written as the old schema had them
        def add(model: type, **values: object) -> int:
            table = as_before(model)
            return db.execute(insert(table).values(**values).returning(table.c.id)).scalar_one()

        asked = add(CustomField, type="text", label={"en": "Company"})
        removed = add(CustomField, type="text", label={"en": "Meal"},
                      archived_at=now - 6 * MONTH)
        events = {name: add(Event, title={"en": name}, starts_at=ends - timedelta(hours=2),
                            ends_at=ends, status="published")
                  for name, ends in (("old", now - 20 * MONTH), ("mid", now - 2 * MONTH),
                                     ("next", now + MONTH))}
        people = {name: add(Participant, email=f"{name}@example.org")
                  for name in ("regular", "late_edit", "edit_before", "never")}

        def register(person: str, event: str, made: timedelta) -> int:
            return add(Registration, event_id=events[event], participant_id=people[person],
                       status="confirmed", created_at=now - made)

        def answer(person: str, field: int, changed: timedelta) -> None:
            db.execute(insert(Answer).values(participant_id=people[person], field_id=field,
                                             value="x", updated_at=now - changed))

        # Registered three times since answering, 24 months ago, both questions.
        answer("regular", asked, 24 * MONTH)
        answer("regular", removed, 24 * MONTH)
        old = register("regular", "old", 24 * MONTH - timedelta(hours=1))
        register("regular", "mid", 3 * MONTH)
        following = register("regular", "next", timedelta(days=1))
        # Changed the answer after the only event ended: it served no registration.
        register("late_edit", "mid", 3 * MONTH)
        answer("late_edit", asked, MONTH)
        # Changed it while registered to a coming event.
        mid = register("edit_before", "mid", 5 * MONTH)
        answer("edit_before", asked, 4 * MONTH)
        # Never registered.
        answer("never", asked, 2 * MONTH)
        # The old schema has no configuration version to replace (tenants/settings/version.py).
        db.info.pop(version.CHANGED, None)

    migrate.migrate_tenant(slug, REVISION)
    with tenants_api.tenant_context(slug) as db:
        found = {(person, field): registration for person, field, registration in db.execute(
            select(Participant.email, Answer.field_id, Answer.registration_id)
            .join(Participant, Participant.id == Answer.participant_id))}
    assert found == {
        ("regular@example.org", asked): following,  # the one ending last
        ("regular@example.org", removed): old,  # the only one made before the removal
        ("late_edit@example.org", asked): None,
        ("edit_before@example.org", asked): mid,
        ("never@example.org", asked): None,
    }

    # Down and up again: the column goes and comes back, attached the same way.
    migrate.migrate_tenant(slug, BEFORE, downgrade=True)
    migrate.migrate_tenant(slug)
    with tenants_api.tenant_context(slug) as db:
        assert sorted(db.scalars(select(Answer.registration_id)), key=str) == sorted(
            found.values(), key=str)
