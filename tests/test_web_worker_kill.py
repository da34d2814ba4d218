"""A web worker killed (SIGKILL) in the middle of sign-ups: gunicorn starts another, and every
sign-up a client was told succeeded is stored exactly once, whole.

Clients post the sign-up form in a loop, more clients than workers so that each worker is busy
when killed; a client whose request died with the worker (no answer) sends the same form
again, as a person would, which must neither fail nor make a second account. Two workers are
killed while this goes on.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from bench import burst
from tests import served

pytestmark = pytest.mark.xdist_group("served")

# More clients than workers, so that every worker is busy when it is killed.
WORKERS, CLIENTS, PER_CLIENT, KILLS = 3, 8, 25, 2
# On a busy machine clients may be shed (503) and sleep their Retry-After, leaving a worker
# idle when it is killed: kill again, up to this many, until a request has died with one.
MAX_KILLS = 6


def test_signups_survive_a_web_worker_killed_under_load(app, tmp_path):
    # No standing-queue target: the clients' requests wait for a worker rather than being shed
    # (a shed client sleeps its Retry-After, and an idle worker dies with no request).
    site, port = served.site(app, tmp_path, "killed", capacity=1000, QUEUE_TARGET="0")
    acknowledged: list[str] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    stop = threading.Event()
    with served.served(site, tmp_path, port, workers=WORKERS, jobs=False) as server:
        url = burst.signup_url(server, site)
        people = [[burst.Client(f"k{c}-{i}@example.org") for i in range(PER_CLIENT)]
                  for c in range(CLIENTS)]
        for row in people:
            burst.load_forms(row, url, threads=2)

        def sign_up(row: list[burst.Client]) -> None:
            for client in row:
                if stop.is_set():
                    return
                for _attempt in range(5):  # no answer: the worker died; send it again
                    answer = burst.send(client, "POST", url, burst.signup_form(client),
                                        retries=burst.RETRIES)
                    with lock:
                        statuses.update(answer.statuses)
                    if answer.status:
                        break
                if burst.signed_up(answer):
                    with lock:
                        acknowledged.append(client.email)

        threads = [threading.Thread(target=sign_up, args=(row,)) for row in people]
        for thread in threads:
            thread.start()
        killed: list[int] = []
        while len(killed) < KILLS or (not statuses[0] and len(killed) < MAX_KILLS):
            time.sleep(0.6)
            killed.append(server.kill_worker())
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(60)
        assert not any(t.is_alive() for t in threads)
        assert not set(killed) & set(server.worker_pids())  # they were replaced

    # 503 (with Retry-After) is the only server error allowed: load shed, sent again.
    assert not any(status >= 500 and status != 503 for status in statuses), (
        statuses, served.logs(tmp_path))
    assert statuses[0] >= 1, (statuses, killed)  # a request died with its worker, sent again
    assert len(acknowledged) >= CLIENTS * 2
    found = burst.stored(site)
    assert all(found.accounts[email] == 1 and found.registrations[email] == 1
               for email in acknowledged)
    # Nothing half-written: every account stored has its registration, and no one has two.
    assert set(found.registrations) == set(found.accounts)
    assert set(found.accounts.values()) == {1} and set(found.registrations.values()) == {1}
    assert found.statuses == {"pending": len(found.accounts)}
