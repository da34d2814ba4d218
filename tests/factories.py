"""Factories for test data, in one place. Each commits, like a finished request would."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from tenants import api as tenants_api
from webapp import db
from webapp.auth import services as auth_services
from webapp.auth.models import Account, Membership
from webapp.organisations import services as org_services
from webapp.organisations.models import Tenant

PASSWORD = "correct horse battery staple"


def tenant(slug: str, *, name: str | None = None, language: str = "fr") -> Tenant:
    created = org_services.create(db.session(), slug=slug, name=name or slug.title(),
                                  default_language=language)
    db.commit()
    return created


def account(email: str, *, password: str = PASSWORD, operator_role: str | None = None,
            **fields: object) -> Account:
    created = auth_services.create_account(db.session(), email=email, password=password,
                                           operator_role=operator_role, **fields)
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


def login(client: FlaskClient, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"email": email, "password": password})


@contextmanager
def throwaway_database(server_url: str, prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database on ``server_url``, dropped at the end; yields its URL."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
