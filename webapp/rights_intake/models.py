"""A rights request sent to the platform, and the log of where it was forwarded.

The control plane holds the requester's address and message only until the request is
forwarded (a job, seconds after the code is verified); then both are emptied. What stays is the
processor's record: which right, when it was received and forwarded, and to which tenants, by
the id the request has in each tenant's inbox (opaque here).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import ControlBase

STATUSES = ("unverified", "received", "forwarded")


class PlatformRightsRequest(ControlBase):
    __tablename__ = "platform_rights_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The address of the request's page: random, so nobody reaches another's by counting.
    token: Mapped[str] = mapped_column(String(43), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    # Emptied once forwarded: the tenants concerned hold it from then on.
    email: Mapped[str] = mapped_column(String(254), index=True, default="")
    details: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(12), index=True)
    created_at: Mapped[datetime]
    # Receipt is when the sender proved the address: the legal clock of every forwarded copy
    # starts then, whenever the forwarding job runs.
    received_at: Mapped[datetime | None]
    forwarded_at: Mapped[datetime | None]
    # The e-mailed code, as a keyed hash, its lifetime and the attempts made.
    code_hash: Mapped[str] = mapped_column(String(64), default="")
    code_expires_at: Mapped[datetime | None]
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)


class RightsForwarding(ControlBase):
    """One tenant a platform request was forwarded to: the log of the processor's duty."""

    __tablename__ = "rights_forwardings"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("platform_rights_requests.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           index=True)
    # The request's id in that tenant's inbox (tenant plane: an opaque number here).
    tenant_request_id: Mapped[int]
    at: Mapped[datetime]
