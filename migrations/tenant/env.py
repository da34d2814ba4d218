"""Alembic environment of one tenant schema; run through `flask tenants migrate`.

The runner hands over a dedicated connection inside the tenant's transaction. Alembic
operations ignore schema_translate_map, so on PostgreSQL the schema is selected here with
SET LOCAL search_path, which ends with the transaction; on SQLite the connection is opened on
the tenant's own file.
"""

from alembic import context

from tenants.api import metadata


def render_item(type_, obj, autogen_context):  # type: ignore[no-untyped-def]
    """Render our UTC datetime type as plain SQLAlchemy so revisions never import app code."""
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run tenant migrations with `flask tenants migrate`.")
schema = config.attributes.get("schema")
if schema:
    connection.exec_driver_sql(f'SET LOCAL search_path TO "{schema}"')

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
