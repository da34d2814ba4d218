"""The registration form kept per process and configuration version (tenants/settings/version.py):
a change of the design made anywhere shows at the next request, the sign-up page sends fewer
statements once the form is kept, and nothing built from an uncommitted change is kept."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from tenants import api as tenants_api
from tenants import pagecache
from tenants.fields import answer_form
from tenants.fields.models import CustomField, StandardField
from tenants.settings import services as settings
from tenants.settings import version
from tenants.settings.models import Settings
from tests import factories
from tests.fixtures.people import english


@pytest.fixture(autouse=True)
def stored_settings(app) -> None:  # type: ignore[no-untyped-def]
    """The settings row, holder of the version (made at provisioning since issue 18)."""
    with app.app_context(), tenants_api.tenant_context("acme", writer=True) as session:
        settings.ensure(session)


def config_version(slug: str = "acme") -> int:
    with tenants_api.tenant_context(slug) as session:
        return session.scalar(select(Settings.config_version).where(Settings.id == 1))


def page(app, client) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        pagecache.clear()  # the page rendered, not its copy
    response = client.get("/t/acme/signup")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_every_change_of_the_design_replaces_the_version(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        first = config_version()
        assert first  # the row was made with one of its own
        field = factories.custom_field("acme", "text")
        added = config_version()
        with tenants_api.tenant_context("acme") as session:  # a bulk statement
            session.execute(update(CustomField).where(CustomField.id == field)
                            .values(label={"fr": "Société", "en": "Firm"}))
        relabelled = config_version()
        with tenants_api.tenant_context("acme") as session:
            session.add(StandardField(key="city", mode="required"))
        moded = config_version()
        with tenants_api.tenant_context("acme") as session:
            session.get(Settings, 1).languages = ["en", "fr"]
        reordered = config_version()
        with tenants_api.tenant_context("acme") as session:  # a unit of work that reads only
            session.get(CustomField, field)
        assert len({first, added, relabelled, moded, reordered}) == 5
        assert config_version() == reordered


def test_a_change_shows_at_once_and_an_unversioned_one_does_not(app, client) -> None:  # type: ignore[no-untyped-def]
    english(client)
    with app.app_context():
        field = factories.custom_field("acme", "text", label={"fr": "Avant", "en": "Before"})
    assert "Before" in page(app, client)
    # Another process changes the label: its transaction replaces the version, which this
    # process reads with the settings row at its next request.
    with app.app_context(), tenants_api.tenant_context("acme") as session:
        session.get(CustomField, field).label = {"fr": "Après", "en": "After"}
    assert "After" in page(app, client)
    # A change that bypasses the version (SQL by hand) is not seen: the form is kept.
    with app.app_context(), tenants_api.tenant_context("acme") as session:
        session.connection().execute(  # Core, on the connection: no session event sees it
            update(CustomField.__table__).where(CustomField.__table__.c.id == field)
            .values(label={"fr": "Caché", "en": "Hidden"}))
    assert "After" in page(app, client) and "Hidden" not in page(app, client)
    with app.app_context(), tenants_api.tenant_context("acme") as session:
        session.connection().execute(update(Settings.__table__).values(config_version=7))
    # The settings row itself is kept too (tenants/keeping.py): SQL by hand shows once the
    # process forgets it, at the latest after its lifetime.
    assert "Hidden" not in page(app, client)
    settings.kept.forget()
    assert "Hidden" in page(app, client)


def test_the_kept_form_spares_the_design_queries(app, client, statements) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        factories.custom_field("acme", "choice", options=[
            {"key": "a", "label": {"fr": "A", "en": "A"}}])
    page(app, client)  # the registry, the form class and its blank fields are kept now
    with app.app_context():
        pagecache.clear()
    with statements:
        assert client.get("/t/acme/signup").status_code == 200
    sent = " ".join(statements.statements).lower()
    assert "settings" not in sent  # the row, and its version, are kept too
    assert "custom_fields" not in sent and "standard_fields" not in sent


def test_a_form_built_from_an_uncommitted_change_is_not_kept(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context(), app.test_request_context("/t/acme/signup"):
        before = config_version()
        try:
            with tenants_api.tenant_context("acme") as session:
                session.add(CustomField(type="text", label={"fr": "Brouillon", "en": "Draft"},
                                        purpose={"fr": "x", "en": "x"}))
                session.flush()
                built = answer_form.build_form_class(session, "en", signup=True)
                assert any(q.field.label["en"] == "Draft" for q in built.questions)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        assert config_version() == before
        with tenants_api.tenant_context("acme") as session:
            kept = answer_form.build_form_class(session, "en", signup=True)
            assert not any(q.field.label["en"] == "Draft" for q in kept.questions)
            assert answer_form.build_form_class(session, "en", signup=True) is kept
    version.clear()
