"""A burst of sign-ups on one event, then of their confirmations, through a real server.

gunicorn (4 sync workers, in a child process) and the job worker share the session's database
(SQLite files or PostgreSQL): 60 people post the sign-up form at the same moment, then follow
their e-mailed confirmation links at the same moment, for 20 seats and a waiting list. No
answer may be a server error but 503 (load shed, with Retry-After: the client sends again),
each person told "done" is stored once, and the seats go to exactly 20 of them.
bench/burst.py runs the same at full size (300 on 100) and measures it.
"""

from __future__ import annotations

from collections import Counter

import pytest

from bench import burst
from tests import served

pytestmark = pytest.mark.xdist_group("served")

SIGNUPS, CAPACITY = 60, 20


def server_errors(answers: list[burst.Answer]) -> list[int]:
    """Statuses 5xx of any attempt, but 503: a client shed with Retry-After sends again."""
    return [s for a in answers for s in a.statuses if s >= 500 and s != 503]


def test_a_burst_of_signups_then_confirmations_loses_nothing_and_oversells_nothing(
        app, tmp_path):
    site, port = served.site(app, tmp_path, "burst", capacity=CAPACITY)
    with served.served(site, tmp_path, port, workers=4) as server:
        clients = [burst.Client(f"burst{i}@example.org") for i in range(SIGNUPS)]
        signup, _ = burst.signups(server, site, clients)
        assert not server_errors(signup), served.logs(tmp_path)
        assert Counter(a.status for a in signup) == {303: SIGNUPS}, served.logs(tmp_path)
        assert all(burst.signed_up(a) for a in signup)

        confirm, _, missing = burst.confirmations(server, site, signup, timeout=60)
        assert missing == 0, served.logs(tmp_path)
        assert not server_errors(confirm), served.logs(tmp_path)
        assert Counter(a.status for a in confirm) == {303: SIGNUPS}, served.logs(tmp_path)
        assert all(burst.confirmed_ok(a) for a in confirm)

    found = burst.stored(site)
    assert set(found.accounts) == {c.email for c in clients}
    assert set(found.accounts.values()) == {1} and set(found.registrations.values()) == {1}
    assert found.statuses == {"confirmed": CAPACITY, "waitlisted": SIGNUPS - CAPACITY}
    assert found.seats_taken == CAPACITY
