"""Plan limits inside a tenant: the check the services call before creating something.

The control plane hands the tenant's limits over with the tenant (``access.limits()``); a
service about to create an event, a custom field or a participant checks its count here first,
so a refusal writes nothing. ``OverLimit`` reaches the control plane's error handler, which
shows a clear page with the way to a larger plan: nothing is refused silently.
"""

from __future__ import annotations

from collections.abc import Callable

from tenants import access


class OverLimit(Exception):
    """``what`` (a ``Limits`` field name) has reached the plan's ``limit``."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"{what}: {limit}")
        self.what = what
        self.limit = limit


def check(what: str, used: Callable[[], int]) -> None:
    """Refuse one more of ``what`` when ``used()`` already reaches the current plan's limit
    (counted only when there is a limit: an unlimited plan costs no query)."""
    limit = getattr(access.limits(), what)
    if limit is not None and used() >= limit:
        raise OverLimit(what, limit)
