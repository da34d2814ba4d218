"""The control plane's job outbox, and the planes ``core.jobs`` is handed by the factory.

``core.jobs`` runs jobs without knowing either plane; ``planes`` tells it, with functions, how
to reach each plane's outbox and unit of work, and the tenant registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core import jobs
from core.outbox import OutboxRow, outbox_index
from tenants import api as tenants_api
from webapp import db


class ControlJob(OutboxRow, db.ControlBase):
    """The control plane's outbox (signup, billing, contract, processor e-mails and jobs)."""

    __tablename__ = "job_outbox"
    __table_args__ = (outbox_index(),)


def _active_tenant() -> str | None:
    return tenants_api.current_slug() if tenants_api.in_tenant_context() else None


def planes(tenant_info: Callable[[str], Any], tenant_slugs: Callable[[], list[str]],
           ) -> jobs.Planes:
    """Both planes as ``core.jobs`` reaches them; ``tenant_info`` and ``tenant_slugs`` read the
    tenant registry (``webapp.tenancy``)."""
    return jobs.Planes(
        control=jobs.ControlPlane(
            model=ControlJob, session=db.session, own_session=lambda: db.sessions()(),
            commit=db.commit, rollback=db.rollback, after_commit=db.after_commit),
        tenant=jobs.TenantPlane(
            model=tenants_api.TenantJob, unit=tenants_api.tenant_context, active=_active_tenant,
            session=tenants_api.session, after_commit=tenants_api.after_commit,
            info=tenant_info, slugs=tenant_slugs))
