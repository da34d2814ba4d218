"""On a Citus cluster (the third leg of ``make test``, .ci/citus.sh): tenant schemas are
distributed schemas whose tables live on the workers, the control plane stays on the
coordinator, and tenant writes go through any node.

Skipped on SQLite and plain PostgreSQL; the Citus leg sets ``PARVIS_TEST_CITUS=1``, which makes
a database without Citus an error (tests/factories.py) instead of a skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import MetaData, create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tenants import api as tenants_api
from tenants import db as tenants_db
from tenants.participants.models import Participant
from tests import factories
from webapp import db
from webapp.models import ControlBase

pytestmark = pytest.mark.spans_connections  # provisioning and the workers use their own


@pytest.fixture
def citus(ctx: Flask, database_url: str) -> Iterator[str]:
    """The coordinator's URL, when the test database is on a Citus cluster."""
    if not database_url.startswith("postgresql"):
        pytest.skip("Citus runs on PostgreSQL")
    with db.engine().connect() as conn:
        if not conn.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'citus'")):
            pytest.skip("not a Citus cluster (make test's third leg runs these)")
    yield database_url


def placements(schema: str) -> set[tuple[str, int]]:
    """Where the shards of a schema's tables are: (table, node port)."""
    with db.engine().connect() as conn:
        return {(row.table_name, row.nodeport) for row in conn.execute(text(
            "SELECT table_name::text, nodeport FROM citus_shards "
            "WHERE table_name::text LIKE :prefix"), {"prefix": f"{schema}.%"})}


def coordinator_port() -> int:
    with db.engine().connect() as conn:
        return int(conn.scalar(text("SELECT nodeport FROM pg_dist_node WHERE groupid = 0")))


def test_tenant_schemas_are_distributed_and_live_on_the_workers(citus: str) -> None:
    with db.engine().connect() as conn:
        distributed = set(conn.scalars(text("SELECT schema_name::text FROM citus_schemas")))
        worker_ports = set(conn.scalars(text(
            "SELECT nodeport FROM pg_dist_node WHERE groupid <> 0 AND shouldhaveshards")))
    assert len(worker_ports) == 2
    assert {tenants_db.schema_for(slug) for slug in factories.BASE_TENANTS} <= distributed
    for slug in factories.BASE_TENANTS:
        schema = tenants_db.schema_for(slug)
        placed = placements(schema)
        # Every tenant table is one shard, all of a schema's on one worker (colocated: its
        # foreign keys and joins stay on that node).
        assert {table for table, _ in placed} == {
            f"{schema}.{table}" for table in [*tenants_api.metadata.tables, "alembic_version"]}
        assert len({port for _, port in placed}) == 1
        assert {port for _, port in placed} <= worker_ports


def test_the_control_plane_stays_on_the_coordinator(citus: str) -> None:
    with db.engine().connect() as conn:
        citus_tables = set(conn.scalars(text("SELECT table_name::text FROM citus_tables")))
        local = set(conn.scalars(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
    assert set(ControlBase.metadata.tables) <= local
    assert not {name for name in citus_tables if "." not in name}  # nothing in public sharded


def test_tenant_writes_work_through_a_worker(citus: str) -> None:
    """Keys are bigint: a worker draws serial keys from its own range (an integer key fails)."""
    factories.tenant("through-worker")
    schema = tenants_db.schema_for("through-worker")
    port = next(port for _, port in placements(schema))
    worker = create_engine(make_url(citus).set(port=port), poolclass=NullPool)
    try:
        # The model's own insert (its column defaults), sent to the worker holding the shards.
        table = Participant.__table__.to_metadata(MetaData(), schema=schema)
        with worker.begin() as conn:
            inserted = conn.scalar(insert(table).values(email="worker@example.test")
                                   .returning(table.c.id))
    finally:
        worker.dispose()
    participant = tenants_api.add_participant("through-worker", email="c@example.test")
    assert inserted != participant  # the coordinator's range and the worker's differ


def test_provisioning_distributes_a_schema_created_while_sharding_was_off(
        citus: str) -> None:
    name = make_url(citus).database
    with db.engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" SET citus.enable_schema_based_sharding = off'))
    tenants_db.dispose()  # new connections take the database's setting
    try:
        factories.tenant("late-shard")
    finally:
        with db.engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" RESET citus.enable_schema_based_sharding'))
        tenants_db.dispose()
    schema = tenants_db.schema_for("late-shard")
    with db.engine().connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM citus_schemas "
                                "WHERE schema_name::text = :s"), {"s": schema}) == 1
    assert coordinator_port() not in {port for _, port in placements(schema)}
