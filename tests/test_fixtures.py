"""The tests' isolation (tests/fixtures/isolation.py) does what it says, with controls.

These tests are marked ``spans_connections`` so that they run outside the automatic rollback
and drive ``rolled_back`` themselves, looking at the databases through connections of their own.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from tenants import api as tenants_api
from tenants import db as tenant_db
from tenants.participants.models import Participant
from tests import factories
from tests.fixtures.isolation import rolled_back
from webapp import db
from webapp.auth.models import Account

pytestmark = pytest.mark.spans_connections  # each test looks from connections of its own


def accounts(app: Flask, email: str) -> int:
    """Committed accounts with ``email``, read on a connection of this test's own."""
    with app.app_context(), db.engine().connect() as conn:
        return conn.scalar(select(func.count()).select_from(Account)
                           .where(Account.email == email))


def participants(slug: str, email: str) -> int:
    """Committed participants of ``slug`` with ``email``, read on a connection of our own."""
    with tenant_db.bind_for(slug).connect() as conn:
        return conn.scalar(select(func.count()).select_from(Participant)
                           .where(Participant.email == email))


def test_writes_of_both_planes_are_seen_by_the_test_then_rolled_back(
        app: Flask, tenant_storage: Callable[[], set[str]]) -> None:
    before = tenant_storage()
    with rolled_back(app):
        with app.app_context():
            factories.account("rolled@example.org")
            factories.participant("acme", "rolled@acme.test")
            factories.tenant("rolled-back")
            # The test sees its own writes, through the application's sessions…
            assert db.session().scalar(select(Account).where(
                Account.email == "rolled@example.org")) is not None
        with tenants_api.tenant_context("acme") as session:
            assert session.scalar(select(Participant).where(
                Participant.email == "rolled@acme.test")) is not None
        # …which are not committed: another connection does not see them.
        assert accounts(app, "rolled@example.org") == 0
        assert participants("acme", "rolled@acme.test") == 0
        assert tenant_storage() > before  # a created tenant's schema or file is real
    assert tenant_storage() == before  # and dropped afterwards
    with rolled_back(app), app.app_context():  # nothing left for the next test either
        assert db.session().scalar(select(Account).where(
            Account.email == "rolled@example.org")) is None
        with tenants_api.tenant_context("acme") as session:
            assert session.scalar(select(func.count()).select_from(Participant)) == 0


def test_control_the_same_writes_without_rollback_are_committed(app: Flask) -> None:
    """The control: outside ``rolled_back`` the probes above do see committed rows (this
    test's rows are then deleted by the table cleanup of ``spans_connections`` tests)."""
    with app.app_context():
        factories.account("kept@example.org")
    factories.participant("acme", "kept@acme.test")
    assert accounts(app, "kept@example.org") == 1
    assert participants("acme", "kept@acme.test") == 1


def test_a_unit_of_work_may_begin_writing_after_earlier_ones_wrote(app: Flask) -> None:
    """Each unit of work is a savepoint: one that only read may still ``begin_writing``
    although the test's transaction wrote before (on SQLite the outer write flag is reset)."""
    with rolled_back(app):
        factories.participant("acme", "first@acme.test")
        with tenants_api.tenant_context("acme") as session:
            session.scalar(select(func.count()).select_from(Participant))
            tenant_db.begin_writing()
            session.add(Participant(email="second@acme.test"))
        with tenants_api.tenant_context("acme") as session:
            assert session.scalar(select(func.count()).select_from(Participant)) == 2


def test_a_commit_of_the_outer_transaction_fails_the_test(app: Flask) -> None:
    with (pytest.raises(pytest.fail.Exception, match="spans_connections"), rolled_back(app),
          app.app_context()):
        connection = db.session().connection()
        connection.execute(text("SELECT 1"))
        connection.commit()  # what a test spanning connections would do in effect
