"""Alembic environment of the control plane; run through `flask db upgrade`."""

from alembic import context

from webapp.models import ControlBase


def render_item(type_, obj, autogen_context):  # type: ignore[no-untyped-def]
    """Render our UTC datetime type as plain SQLAlchemy so revisions never import app code."""
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run control-plane migrations with `flask db upgrade`.")

context.configure(
    connection=connection,
    target_metadata=ControlBase.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
