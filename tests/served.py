"""Parvis served by gunicorn in a child process, on the test session's database.

The server's processes share the session's control plane and tenant files (or PostgreSQL
database) and have an instance folder of their own (outbox, job queue). Their tenant is made
by the test through the session app, so the usual clean-up drops it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask

from bench.burst import Site
from bench.http_load import Served, app_env, free_port, gunicorn, job_worker
from tests import factories


def site(app: Flask, workdir: Path, slug: str, *, capacity: int,
         **settings: str) -> tuple[Site, int]:
    """A new tenant with one open event of ``capacity`` seats and a waiting list; the site as
    bench/burst.py's clients see it, and the port the server will take. ``settings`` are the
    served app's (``PARVIS_`` left out)."""
    with app.app_context():
        factories.tenant(slug)
    event_id = factories.event(slug, capacity=capacity, waitlist=True)
    port = free_port()
    instance = workdir / "instance"
    env = app_env(instance, app.config["DATABASE_URL"], base_url=f"http://127.0.0.1:{port}",
                  TENANT_DATA_DIR=app.config["TENANT_DATA_DIR"], DB_POOL_SIZE="3", **settings)
    return Site(instance, app.config["DATABASE_URL"], slug, event_id, capacity, env, app), port


@contextmanager
def served(site: Site, workdir: Path, port: int, *, workers: int,
           jobs: bool = True) -> Iterator[Served]:
    """gunicorn (``tests.served_app``) with ``workers`` sync workers, and the job worker."""
    with gunicorn(site.env, workdir / "gunicorn.log", workers=workers, port=port,
                  app="tests.served_app:app") as server:
        if not jobs:
            yield server
            return
        with job_worker(site.env, workdir / "worker.log"):
            yield server


def logs(workdir: Path) -> str:
    """The server's and the worker's output, for a failure's message."""
    return "\n".join(path.read_text(errors="replace")[-4000:]
                     for path in sorted(workdir.glob("*.log")))
