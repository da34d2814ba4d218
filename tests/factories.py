"""Factories for test data, in one place. Each commits, like a finished request would."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from core.clock import utcnow
from tenants import api as tenants_api
from webapp import db
from webapp.auth import services as auth_services
from webapp.auth.models import Account, Membership
from webapp.organisations import services as org_services
from webapp.organisations.models import Tenant

# The tenants every test session provisions (tests/conftest.py), for isolation tests.
BASE_TENANTS = ("acme", "globex")
PASSWORD = "correct horse battery staple"
# The two-factor secret of accounts made with ``two_factor=True`` (operators by default: they
# cannot work without it), so browser tests can compute the code too.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def tenant(slug: str, *, name: str | None = None, language: str = "fr") -> Tenant:
    created = org_services.create(db.session(), slug=slug, name=name or slug.title(),
                                  default_language=language)
    db.commit()
    return created


def account(email: str, *, password: str = PASSWORD, operator_role: str | None = None,
            two_factor: bool | None = None, **fields: object) -> Account:
    created = auth_services.create_account(db.session(), email=email, password=password,
                                           operator_role=operator_role, **fields)
    if two_factor if two_factor is not None else operator_role is not None:
        created.totp_secret, created.totp_enabled_at = TOTP_SECRET, utcnow()
    db.commit()
    return created


def member(slug: str, email: str, role: str = "owner", *, password: str = PASSWORD) -> Account:
    session = db.session()
    found = session.scalar(select(Account).where(Account.email == email))
    person = found or account(email, password=password)
    tenant_row = session.scalar(select(Tenant).where(Tenant.slug == slug))
    session.add(Membership(tenant_id=tenant_row.id, account_id=person.id, role=role))
    db.commit()
    return person


def participant(slug: str, email: str, **fields: str) -> int:
    return tenants_api.add_participant(slug, email=email, **fields)


CSRF_TOKEN = re.compile(r"[\w-]{20,}\.[\w-]{4,}\.[\w-]{20,}")  # payload.timestamp.signature


def without_csrf_tokens(page: str) -> str:
    """``page`` with its CSRF tokens (in forms and in htmx's headers) blanked: a token carries
    the second it was signed, so two pages compared would differ across a second's turn."""
    return CSRF_TOKEN.sub("<token>", page)


def login(client: FlaskClient, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """Sign in, with the second step when the account has two-factor sign-in on."""
    response = client.post("/login", data={"email": email, "password": password})
    if response.status_code == 303 and response.location.endswith("/login/code"):
        with client.application.app_context():
            code = totp_code(email)
        response = client.post("/login/code", data={"code": code})
    return response


def totp_code(email: str) -> str:
    """A valid code for the account not used yet: the current step's, or the next one's
    (accepted for clock drift), so a test may sign in twice within 30 seconds."""
    found = db.session().scalar(select(Account).where(Account.email == email))
    assert found is not None and found.totp_secret is not None
    step = int(utcnow().timestamp()) // auth_services.TOTP_STEP
    if found.totp_last_step is not None and found.totp_last_step >= step:
        step += 1
    return pyotp.TOTP(found.totp_secret).at(step * auth_services.TOTP_STEP)


def citus_nodes(server_url: str) -> tuple[list[URL], list[URL]] | None:
    """On a Citus coordinator: the server URLs of its own node and of its workers, as its
    ``postgres`` database records them (.ci/citus.sh); None on a plain PostgreSQL server.

    ``PARVIS_TEST_CITUS=1`` (the Citus leg of ``make test``) makes a server without Citus an
    error, so that leg cannot pass on plain PostgreSQL."""
    admin = create_engine(server_url, poolclass=NullPool)
    try:
        with admin.connect() as conn:
            if conn.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'citus'")):
                rows = conn.execute(text("SELECT groupid, nodename, nodeport FROM pg_dist_node "
                                         "WHERE noderole = 'primary' ORDER BY groupid")).all()
            else:
                rows = None
    finally:
        admin.dispose()
    if rows is None:
        if os.environ.get("PARVIS_TEST_CITUS") == "1":
            raise RuntimeError(f"PARVIS_TEST_CITUS=1 but {server_url} has no citus extension")
        return None
    url = make_url(server_url)
    nodes = [(group, url.set(host=host, port=port)) for group, host, port in rows]
    return [n for g, n in nodes if g == 0] or [url], [n for g, n in nodes if g != 0]


@contextmanager
def throwaway_database(server_url: str, prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database on ``server_url``, dropped at the end; yields its URL.

    On a Citus coordinator the database is made on every node, with the extension in each,
    and the coordinator is told its workers: Citus propagates neither databases nor nodes.
    """
    name = f"{prefix}_{secrets.token_hex(4)}"
    cluster = citus_nodes(server_url)
    coordinator, workers = cluster if cluster else ([make_url(server_url)], [])
    servers = [*workers, *coordinator]  # workers first: the coordinator registers them
    created: list[URL] = []
    try:
        with _cluster_lock(server_url, cluster is not None):
            for server in servers:
                with _autocommit(server) as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                created.append(server)
                if cluster:
                    with _autocommit(server.set(database=name)) as conn:
                        conn.execute(text("CREATE EXTENSION citus"))
            if cluster:
                with _autocommit(coordinator[0].set(database=name)) as conn:
                    conn.execute(text("SELECT citus_set_coordinator_host(:host, :port)"),
                                 {"host": coordinator[0].host, "port": coordinator[0].port})
                    for worker in workers:
                        conn.execute(text("SELECT citus_add_node(:host, :port)"),
                                     {"host": worker.host, "port": worker.port})
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with _cluster_lock(server_url, cluster is not None):
            for server in reversed(created):  # the coordinator first: it holds worker connections
                with _autocommit(server) as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# Held while a test session sets up or drops its database on a Citus cluster: registering the
# workers of two databases at once fails now and then ("failure on connection marked as
# essential"), as each registration syncs node-wide objects to the same workers.
CITUS_SETUP_LOCK = 0x50617276  # "Parv"


@contextmanager
def _cluster_lock(server_url: str, needed: bool) -> Iterator[None]:
    if not needed:
        yield
        return
    with _autocommit(make_url(server_url)) as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": CITUS_SETUP_LOCK})
        yield  # released when the connection closes


@contextmanager
def _autocommit(url: URL) -> Iterator[Connection]:
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


# --- tenant data (each in its own unit of work, like a finished request) --------------------


def confirmed_participant(slug: str, email: str, *, password: str = PASSWORD,
                          **fields: str) -> int:
    """A participant who signed up with ``password`` and followed the confirmation link."""
    return tenants_api.add_participant(slug, email=email, password=password, **fields)


def participant_login(client: FlaskClient, slug: str, email: str,
                      password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(f"/t/{slug}/login", data={"email": email, "password": password})


def event(slug: str, **fields: object) -> int:
    """A published event starting in a week for two hours, unless ``fields`` say otherwise."""
    from tenants.events.models import Event

    start = utcnow().replace(microsecond=0) + timedelta(days=7)
    values: dict = {"title": {"fr": "Atelier", "en": "Workshop"}, "starts_at": start,
                    "ends_at": start + timedelta(hours=2), "status": "published",
                    "join_url": "https://video.example.test/room/42"}
    values.update(fields)
    with tenants_api.tenant_context(slug) as session:
        created = Event(**values)
        session.add(created)
        session.flush()
        return created.id


def custom_field(slug: str, type: str = "text", **fields: object) -> int:
    from tenants.fields.models import CustomField

    values: dict = {"type": type, "label": {"fr": "Entreprise", "en": "Company"},
                    "purpose": {"fr": "Organiser les groupes", "en": "Organise groups"}}
    values.update(fields)
    with tenants_api.tenant_context(slug) as session:
        created = CustomField(**values)
        session.add(created)
        session.flush()
        return created.id


def registration(slug: str, event_id: int, participant_id: int) -> str:
    """Register a participant through the service; returns the resulting status."""
    from tenants.events.models import Event
    from tenants.participants.models import Participant
    from tenants.registration import services

    with tenants_api.tenant_context(slug) as session:
        return services.register(session, session.get(Event, event_id),
                                 session.get(Participant, participant_id)).status


def in_another_process(app: Flask, code: str) -> None:
    """Run ``code`` in a new Python process as another worker of ``app``'s instance folder
    would: its own app on the same database and folder, ``app`` in its context (``db``, the
    control plane's, and ``tenants_api`` imported). Fails with the child's output if it fails."""
    config = {key: app.config[key] for key in (
        "INSTANCE_PATH", "DATABASE_URL", "TENANT_DATA_DIR", "SECRET_KEY")}
    script = "\n".join([
        "from webapp import db",
        "from webapp.app import create_app",
        "from tenants import api as tenants_api",
        f"app = create_app({{**{config!r}, 'JOBS_BACKEND': 'immediate', 'MAIL_URL': 'outbox'}})",
        "with app.app_context():",
        textwrap.indent(textwrap.dedent(code).strip(), "    "),
    ])
    done = subprocess.run(  # noqa: S603 -- the test's own code, in this interpreter
        [sys.executable, "-c", script], capture_output=True, text=True,
        timeout=120, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert done.returncode == 0, done.stderr[-3000:]
