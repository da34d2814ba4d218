"""No tenant ever sees another's data: canary rows in ``acme`` probed from ``globex``.

Every probe has a positive control (the same probe run as ``acme`` finds the canaries), so a
probe that silently finds nothing for another reason cannot pass as isolation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import exists, func, select, union_all
from sqlalchemy.orm import Session, aliased

from core import jobs
from core.db import CrossPlaneError
from tenants import db as tenant_db
from tenants.api import NoTenant, tenant_context
from tenants.participants.models import Participant
from tests import factories
from tests.conftest import app_settings
from webapp import db
from webapp.app import create_app
from webapp.models import Tenant

CANARY_NAME = "Zyxcanary"
CANARIES = ("canary-one@acme.test", "canary-two@acme.test", "canary-three@acme.test")
GLOBEX_PERSON = "gina@globex.test"


@jobs.tenant_task()
def participant_emails(slug: str) -> list[str]:
    """A job on one tenant's data: the e-mails of the participants it can see."""
    return sorted(tenant_db.session().scalars(select(Participant.email)))


def emails(session: Session) -> set[str]:
    return set(session.scalars(select(Participant.email)))


@pytest.fixture
def canaries(app: Flask) -> dict[str, int]:
    """Three canary participants in acme (e-mail → id) and one ordinary one in globex.

    globex has fewer rows than acme, so at least two acme ids do not exist in globex whatever
    the id sequences have reached.
    """
    with app.app_context():
        factories.participant("globex", GLOBEX_PERSON, first_name="Gina", last_name="Globex")
        return {email: factories.participant("acme", email, first_name="Canary",
                                             last_name=CANARY_NAME)
                for email in CANARIES}


def test_orm_queries_from_globex_never_reach_acme_rows(canaries: dict[str, int]) -> None:
    with tenant_context("acme") as acme:
        assert emails(acme) == set(CANARIES)  # control: the canaries are there

    other = aliased(Participant)
    with tenant_context("globex") as session:
        assert emails(session) == {GLOBEX_PERSON}
        assert session.scalar(select(func.count()).select_from(Participant)) == 1
        assert session.scalars(select(Participant).where(
            Participant.last_name == CANARY_NAME)).all() == []
        assert not session.scalar(select(exists().where(Participant.email.in_(CANARIES))))
        # Core statements on the mapped table, subqueries, self-joins and unions too.
        assert {row.email for row in session.execute(Participant.__table__.select())} == {
            GLOBEX_PERSON}
        inner = select(Participant.id).where(Participant.email.in_(CANARIES)).scalar_subquery()
        assert session.scalars(select(Participant).where(Participant.id.in_(inner))).all() == []
        assert set(session.scalars(select(other.email).join(
            Participant, Participant.id == other.id))) == {GLOBEX_PERSON}
        assert set(session.scalars(union_all(select(Participant.email),
                                             select(other.email)))) == {GLOBEX_PERSON}
        globex_ids = set(session.scalars(select(Participant.id)))
        for acme_id in canaries.values():
            found = session.get(Participant, acme_id)
            if acme_id in globex_ids:
                assert found is not None and found.email == GLOBEX_PERSON
            else:
                assert found is None


def test_urls_with_acme_ids_under_globex_are_404(app: Flask, client,  # type: ignore[no-untyped-def]
                                                 canaries: dict[str, int]) -> None:
    with app.app_context():
        factories.member("globex", "owner@globex.test", "owner")
        factories.member("acme", "owner@acme.test", "owner")
    acme_owner = app.test_client()
    assert factories.login(acme_owner, "owner@acme.test").status_code == 303
    assert factories.login(client, "owner@globex.test").status_code == 303

    listing = client.get("/t/globex/admin/participants")
    assert listing.status_code == 200
    assert "Globex" in listing.get_data(as_text=True)
    assert CANARY_NAME not in listing.get_data(as_text=True)

    missing_in_globex = 0
    for acme_id in canaries.values():
        control = acme_owner.get(f"/t/acme/admin/participants/{acme_id}")
        assert control.status_code == 200 and CANARY_NAME in control.get_data(as_text=True)
        probe = client.get(f"/t/globex/admin/participants/{acme_id}")
        assert CANARY_NAME not in probe.get_data(as_text=True)
        if probe.status_code != 200:  # the id may also exist in globex: then it is globex's row
            assert probe.status_code == 404
            missing_in_globex += 1
    assert missing_in_globex >= 2


def test_a_globex_session_is_refused_on_acme(app: Flask, client,  # type: ignore[no-untyped-def]
                                             canaries: dict[str, int]) -> None:
    with app.app_context():
        factories.member("globex", "member@globex.test", "owner")
    assert factories.login(client, "member@globex.test").status_code == 303
    assert client.get("/t/globex/admin/participants").status_code == 200  # control

    for path in ("/t/acme/admin/participants",
                 *(f"/t/acme/admin/participants/{i}" for i in canaries.values())):
        response = client.get(path)
        assert response.status_code == 403, path
        assert CANARY_NAME not in response.get_data(as_text=True)
        assert not any(email in response.get_data(as_text=True) for email in CANARIES)


def test_a_job_for_globex_sees_no_acme_row(app: Flask, canaries: dict[str, int]) -> None:
    assert participant_emails("acme") == sorted(CANARIES)  # control
    assert participant_emails("globex") == [GLOBEX_PERSON]
    # Enqueued while acme is active (as from an acme request): the job still runs as globex.
    with tenant_context("acme"):
        assert participant_emails("globex") == [GLOBEX_PERSON]
        assert tenant_db.current_slug() == "acme"


@pytest.fixture
def pool_of_one(app: Flask, database_url: str,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """A dedicated app whose engines pool a single connection; the session app is restored."""
    monkeypatch.setattr(tenant_db, "TENANT_FILES_KEPT", 1)  # SQLite keeps more by default
    single = create_app(app_settings(Path(app.config["INSTANCE_PATH"]), database_url,
                                     DB_POOL_SIZE=1))
    try:
        yield single
    finally:
        single.extensions["parvis_engine"].dispose()
        db.bind_tenant_plane(app)
        jobs.init_app(app)


def _attached(session: Session) -> set[str]:
    """SQLite: the databases the session's connection holds (``temp`` only once used)."""
    rows = session.connection().exec_driver_sql("PRAGMA database_list").all()
    return {name for _, name, _ in rows} - {"temp"}


@pytest.mark.spans_connections  # a second app, and its pool's connections
def test_one_pooled_connection_never_carries_acme_into_globex(
        canaries: dict[str, int], pool_of_one: Flask, is_postgres: bool) -> None:
    with tenant_context("acme") as acme:
        first = acme.connection().connection.driver_connection
        assert emails(acme) == set(CANARIES)
        if not is_postgres:
            assert _attached(acme) == {"main", "t_acme"}

    for _ in range(2):  # twice: a clean hand-over, then one after a failed acme unit of work
        with tenant_context("globex") as globex:
            # The very same driver connection, handed over by the pool.
            assert globex.connection().connection.driver_connection is first
            assert emails(globex) == {GLOBEX_PERSON}
            if not is_postgres:
                assert _attached(globex) == {"main", "t_globex"}
        with pytest.raises(ZeroDivisionError), tenant_context("acme") as acme:
            assert emails(acme) == set(CANARIES)
            1 / 0  # noqa: B018  (a unit of work that dies half-way)


def test_nested_contexts_switch_tenant_and_back(canaries: dict[str, int]) -> None:
    with tenant_context("acme") as outer:
        assert emails(outer) == set(CANARIES)
        with tenant_context("globex") as inner:
            assert tenant_db.current_slug() == "globex"
            assert tenant_db.session() is inner
            assert emails(inner) == {GLOBEX_PERSON}
        assert tenant_db.current_slug() == "acme"
        assert tenant_db.session() is outer
        assert emails(tenant_db.session()) == set(CANARIES)


def test_sessions_refuse_models_of_the_other_plane(ctx: Flask,
                                                   canaries: dict[str, int]) -> None:
    with tenant_context("acme") as session:
        with pytest.raises(CrossPlaneError):
            session.scalars(select(Tenant)).all()
        with pytest.raises(CrossPlaneError):
            session.get(Tenant, 1)
    control = db.session()
    assert {t.slug for t in control.scalars(select(Tenant))} >= {"acme", "globex"}  # control
    with pytest.raises(CrossPlaneError):
        control.scalars(select(Participant)).all()
    with pytest.raises(CrossPlaneError):
        control.get(Participant, canaries[CANARIES[0]])


def test_tenant_data_outside_a_context_raises_no_tenant(ctx: Flask,
                                                        canaries: dict[str, int]) -> None:
    with pytest.raises(NoTenant):
        tenant_db.session()
    with pytest.raises(NoTenant):
        tenant_db.current_slug()
    with tenant_context("acme"):
        assert emails(tenant_db.session()) == set(CANARIES)
    with pytest.raises(NoTenant):  # and again once the context is over
        tenant_db.session()
