"""Cookie lifetimes: a number and a unit, at most 13 months (PRODUCT.md, "Cookie consent"; CNIL
2020-091), read as such by the banner pages and the processor register; the tenant migration
that structured the old free texts and flags the rest on the consent admin page; the operators'
catalogue under the same rule (control migration f9b00000000d)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import delete, select

from core import cookie_lifetimes as lifetimes
from core.cookie_lifetimes import Lifetime, LifetimeError, parse, structure
from tenants import api as tenants_api
from tenants.consent import banner as consent_banner
from tenants.consent import cache as consent_cache
from tenants.consent.models import ConsentService
from tests import factories
from tests.fixtures.people import english, sign_in_member
from webapp import db, migrate
from webapp.catalogue import services as catalogue
from webapp.catalogue.models import ThirdPartyService
from webapp.registers import tenant as tenant_register

ROOT = Path(__file__).resolve().parents[2]
SERVICE_FORM = {"name": "Analytics", "provider": "Stats Inc.", "purpose": "audience",
                "location": "France", "load_kind": "script",
                "load_url": "https://stats.example.org/s.js"}


# --- the cap ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("duration", "unit", "within"), [
    (13, "months", True), (14, "months", False), (1, "months", True),
    (393, "days", True),  # the shortest 13 months: 365 + 28 days
    (394, "days", False),  # 13 months and a day, whatever the day the cookie is set
    (393 * 24, "hours", True), (393 * 24 + 1, "hours", False),
    (393 * 24 * 60, "minutes", True), (393 * 24 * 60 + 1, "minutes", False),
    (None, "session", True),
])
def test_the_cap_is_13_months_to_the_day(duration: int | None, unit: str, within: bool) -> None:
    assert Lifetime(duration, unit).within_cap is within
    cookie = {"name": "c", "duration": duration, "unit": unit}
    if within:
        lifetimes.check([cookie])
    else:
        with pytest.raises(LifetimeError) as refused:
            lifetimes.check([cookie])
        assert refused.value.name == "c" and refused.value.over_cap


@pytest.mark.parametrize("cookie", [
    {"name": "c", "lifetime": "13 months"},  # old free text: to be corrected first
    {"name": "c", "text": "persistent"},
    {"name": "c", "duration": 0, "unit": "days"},
    {"name": "c", "duration": "13", "unit": "months"}, {"name": "c", "duration": 13},
    {"name": "c", "duration": 13, "unit": "years"}, {"name": "c", "duration": 5, "unit": "session"},
    {"name": "c", "duration": True, "unit": "months"},
])
def test_only_a_number_and_a_unit_is_a_lifetime(cookie: dict) -> None:
    with pytest.raises(LifetimeError) as refused:
        lifetimes.check([cookie])
    assert not refused.value.over_cap


# --- reading what people write -----------------------------------------------------------------


@pytest.mark.parametrize(("text", "duration", "unit"), [
    ("13 mois", 13, "months"), ("13 months", 13, "months"), ("13 Mois", 13, "months"),
    ("1 month", 1, "months"), ("6 mois", 6, "months"), ("13mois", 13, "months"),
    ("1 an", 12, "months"), ("1 year", 12, "months"), ("un an", 12, "months"),
    ("a year", 12, "months"), ("1 année", 12, "months"),
    ("30 days", 30, "days"), ("30 jours", 30, "days"), ("1 day", 1, "days"),
    ("2 semaines", 14, "days"), ("1 week", 7, "days"), ("393 jours", 393, "days"),
    ("24 heures", 24, "hours"), ("24 h", 24, "hours"), ("1 hour", 1, "hours"),
    ("30 minutes", 30, "minutes"), ("30 min", 30, "minutes"),
    ("33955200 seconds", 565920, "minutes"),
    ("session", None, "session"), ("Session", None, "session"),
    ("cookie de session", None, "session"),
    ("jusqu'à la fermeture du navigateur", None, "session"),
    ("until the browser is closed", None, "session"),
    ("up to 13 months", 13, "months"), ("jusqu\u2019à 13 mois", 13, "months"),
    ("max. 6 months", 6, "months"), ("2 ans", 24, "months"), ("25 months", 25, "months"),
])
def test_french_and_english_texts_are_read(text: str, duration: int | None, unit: str) -> None:
    assert parse(text) == Lifetime(duration, unit)


@pytest.mark.parametrize("text", [
    "", "13", "persistent", "permanent", "long", "1.5 years", "1,5 an", "13 months + 1 day",
    "1 year and 1 month", "6 to 13 months", "30 s", "session (30 min)", "13 parsecs",
    "depends on the browser", "x" * 200,
])
def test_what_cannot_be_read_for_sure_is_not_guessed(text: str) -> None:
    assert parse(text) is None


def test_the_migrations_structure_what_they_can_and_keep_the_rest_as_text() -> None:
    assert structure({"name": "_pk_id", "lifetime": "13 mois"}) == {
        "name": "_pk_id", "duration": 13, "unit": "months"}
    assert structure({"name": "s", "lifetime": "session"}) == {
        "name": "s", "duration": None, "unit": "session"}
    assert structure({"name": "y", "lifetime": "1 year"}) == {
        "name": "y", "duration": 12, "unit": "months"}
    # Unreadable, or over the cap: kept as written, for the admin to correct.
    assert structure({"name": "_ga", "lifetime": "2 ans"}) == {"name": "_ga", "text": "2 ans"}
    assert structure({"name": "p", "lifetime": "persistent"}) == {"name": "p",
                                                                   "text": "persistent"}
    done = {"name": "d", "duration": 30, "unit": "days"}
    assert structure(done) == done  # a second run changes nothing
    assert lifetimes.unstructure(structure({"name": "d", "lifetime": "30 days"})) == {
        "name": "d", "lifetime": "30 days"}


# --- the tenant's services ------------------------------------------------------------------------


def test_a_service_with_a_cookie_over_13_months_is_refused_naming_the_cookie(app: Flask) -> None:
    admin = sign_in_member(app.test_client(), "acme", "admin", in_english=True)
    for written in ("_ga | 25 months", "_ga | 14 mois", "_ga | 394 days", "_ga | 2 years"):
        refused = admin.post("/t/acme/admin/consent/services/new",
                             data={**SERVICE_FORM, "cookies": f"_ok | 13 months\n{written}"})
        assert refused.status_code == 422
        assert "The cookie _ga lasts longer than 13 months" in refused.text
    unreadable = admin.post("/t/acme/admin/consent/services/new",
                            data={**SERVICE_FORM, "cookies": "_pk_id | persistent"})
    assert unreadable.status_code == 422
    assert "Give the lifetime of the cookie _pk_id as a number and a unit" in unreadable.text
    with tenants_api.tenant_context("acme") as session:
        assert consent_banner.list_services(session) == []
    # The same rule behind the form: a service saved by code cannot exceed it either.
    with tenants_api.tenant_context("acme") as session, pytest.raises(LifetimeError):
        consent_banner.save_service(session, None, **{
            **SERVICE_FORM, "cookies": [{"name": "_ga", "duration": 14, "unit": "months"}]})

    french = sign_in_member(app.test_client(), "acme", "owner")
    refused = french.post("/t/acme/admin/consent/services/new",
                          data={**SERVICE_FORM, "cookies": "_ga | 25 mois"})
    assert refused.status_code == 422 and "Le cookie _ga dure plus de 13 mois" in refused.text

    accepted = admin.post("/t/acme/admin/consent/services/new", data={
        **SERVICE_FORM, "cookies": "_pk_id | 13 mois\n_pk_ref | 393 days\n_pk_ses | session"})
    assert accepted.status_code == 303
    with tenants_api.tenant_context("acme") as session:
        [service] = consent_banner.list_services(session)
        assert service.cookies == [
            {"name": "_pk_id", "duration": 13, "unit": "months"},
            {"name": "_pk_ref", "duration": 393, "unit": "days"},
            {"name": "_pk_ses", "duration": None, "unit": "session"}]
    # The edit form shows them back, worded in the reader's language.
    edit = admin.get(f"/t/acme/admin/consent/services/{service.id}/edit").text
    assert "_pk_id | 13 months" in edit and "_pk_ref | 393 days" in edit


def test_banner_pages_and_register_read_the_structured_lifetimes(app: Flask) -> None:
    with tenants_api.tenant_context("acme") as session:
        consent_banner.save_service(session, None, **{**SERVICE_FORM, "cookies": [
            {"name": "_pk_id", "duration": 13, "unit": "months"},
            {"name": "_pk_ses", "duration": 30, "unit": "minutes"}]})
    consent_cache.configs.forget()
    visitor = app.test_client()
    assert "_pk_id (13 mois)" in visitor.get("/t/acme/cookies/policy").text
    assert "_pk_ses (30 minutes)" in visitor.get("/t/acme/cookies").text
    visitor = english(visitor)
    assert "_pk_id (13 months)" in visitor.get("/t/acme/cookies/policy").text
    with app.test_request_context(), force_locale("en"):
        config = tenants_api.processing_config("acme")
        assert config["services"][0]["cookies"][0] == {"name": "_pk_id", "duration": 13,
                                                       "unit": "months"}
        lines = tenant_register.build({"config": config, "sub_processors": []}, "en")
    [line] = [line for line in lines if line.item == "Analytics"]
    assert "Cookies: _pk_id (13 months), _pk_ses (30 minutes)" in line.details


def _tenant_migration() -> tuple[str, str]:
    script = ScriptDirectory.from_config(migrate.alembic_config("tenant"))
    revision = script.get_revision("e7a00000000d")
    assert revision is not None and isinstance(revision.down_revision, str)
    return revision.revision, revision.down_revision


@pytest.mark.spans_connections  # migrations run on the engines
def test_the_tenant_migration_parses_old_texts_and_flags_the_rest_for_the_admin(
        app: Flask) -> None:
    with app.app_context():
        factories.tenant("cookiemig")
    mine, before = _tenant_migration()
    old = [("Matomo", [{"name": "_pk_id", "lifetime": "13 mois"},
                       {"name": "_pk_ses", "lifetime": "30 minutes"}]),
           ("Video", [{"name": "v", "lifetime": "1 year"}, {"name": "s", "lifetime": "session"},
                      {"name": "w", "lifetime": "2 semaines"}]),
           ("Ads", [{"name": "_ga", "lifetime": "2 ans"},
                    {"name": "_fbp", "lifetime": "persistent"}])]
    with app.app_context():
        migrate.migrate_tenant("cookiemig", before, downgrade=True)
        with tenants_api.tenant_context("cookiemig") as session:
            for position, (name, cookies) in enumerate(old):
                session.add(ConsentService(name=name, provider="P", purpose="audience",
                                           cookies=cookies, location="France",
                                           load_kind="none", position=position))
        assert migrate.migrate_tenant("cookiemig") == migrate.head("tenant")
        with tenants_api.tenant_context("cookiemig") as session:
            found = {s.name: s.cookies for s in consent_banner.list_services(session)}
    assert found == {
        "Matomo": [{"name": "_pk_id", "duration": 13, "unit": "months"},
                   {"name": "_pk_ses", "duration": 30, "unit": "minutes"}],
        "Video": [{"name": "v", "duration": 12, "unit": "months"},
                  {"name": "s", "duration": None, "unit": "session"},
                  {"name": "w", "duration": 14, "unit": "days"}],
        "Ads": [{"name": "_ga", "text": "2 ans"}, {"name": "_fbp", "text": "persistent"}]}

    # The admin is asked to correct the two it could not convert, and only those.
    admin = sign_in_member(app.test_client(), "cookiemig", "admin", in_english=True)
    page = admin.get("/t/cookiemig/admin/consent").text
    assert "Cookie lifetimes to correct" in page
    notice = page[page.index('id="lifetimes-to-fix"'):page.index("</div>", page.index(
        'id="lifetimes-to-fix"'))]
    assert "<code>_ga</code> “2 ans”: more than 13 months" in " ".join(notice.split())
    assert "<code>_fbp</code> “persistent”: not a number and a unit" in " ".join(
        notice.split())
    assert "_pk_id" not in notice and "<code>v</code>" not in notice
    # Visitors see them as written meanwhile.
    assert "_ga (2 ans)" in app.test_client().get("/t/cookiemig/cookies/policy").text
    # Correcting them clears the notice.
    with tenants_api.tenant_context("cookiemig") as session:
        ads = next(s for s in consent_banner.list_services(session) if s.name == "Ads")
    edit = admin.get(f"/t/cookiemig/admin/consent/services/{ads.id}/edit").text
    assert "_ga | 2 ans" in edit
    assert admin.post(f"/t/cookiemig/admin/consent/services/{ads.id}/edit", data={
        "name": "Ads", "provider": "P", "purpose": "audience", "location": "France",
        "load_kind": "none", "cookies": "_ga | 13 months\n_fbp | 90 days"}).status_code == 303
    assert "Cookie lifetimes to correct" not in admin.get("/t/cookiemig/admin/consent").text
    # Down again: the old texts come back (the unreadable ones as they were written).
    with app.app_context():
        migrate.migrate_tenant("cookiemig", before, downgrade=True)
        with tenants_api.tenant_context("cookiemig") as session:
            back = {s.name: s.cookies for s in consent_banner.list_services(session)}
        migrate.migrate_tenant("cookiemig")
    assert back["Matomo"] == [{"name": "_pk_id", "lifetime": "13 months"},
                              {"name": "_pk_ses", "lifetime": "30 minutes"}]
    assert mine == "e7a00000000d"


# --- the operators' catalogue -------------------------------------------------------------------


def _control_migration() -> ModuleType:
    [path] = (ROOT / "migrations/control/versions").glob("*_f9b00000000d_*.py")
    spec = importlib.util.spec_from_file_location("structured_lifetimes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ENTRY = {"name": "OldVideo", "provider": "V Inc.", "purpose": "embedded",
         "description_fr": "Vidéo", "description_en": "Video", "data_fr": "IP",
         "data_en": "IP", "location": "France", "safeguard": "eu", "load_kind": "embed",
         "load_url": "https://video.example.org"}


def test_the_catalogue_follows_the_same_rule_and_its_migration(app: Flask) -> None:
    with app.app_context():
        db.session().execute(delete(ThirdPartyService))
        db.session().add_all([
            ThirdPartyService(**{**ENTRY, "safeguard": catalogue.Safeguard.EU}, version=1,
                              cookies=[{"name": "vuid", "lifetime": "2 years"},
                                       {"name": "vs", "lifetime": "session"}]),
            ThirdPartyService(**{**ENTRY, "name": "Fine", "safeguard": catalogue.Safeguard.EU},
                              version=1, cookies=[{"name": "f", "lifetime": "13 mois"}])])
        db.commit()
        # The migration's own code, on the test's connection (rolled back afterwards).
        with Operations.context(MigrationContext.configure(db.session().connection())):
            _control_migration().upgrade()
        db.commit()
        entries = {e.name: e for e in db.session().scalars(select(ThirdPartyService))}
        assert entries["OldVideo"].cookies == [{"name": "vuid", "text": "2 years"},
                                               {"name": "vs", "duration": None,
                                                "unit": "session"}]
        assert entries["Fine"].cookies == [{"name": "f", "duration": 13, "unit": "months"}]
        assert entries["OldVideo"].version == 1  # the same facts, the same version
        old_video, fine = entries["OldVideo"].id, entries["Fine"].id

    # The operators see what to correct; an organisation cannot enable it meanwhile.
    with app.app_context():
        factories.account("privacy@parvis.test", operator_role="privacy")
    operator = app.test_client()
    assert factories.login(operator, "privacy@parvis.test").status_code == 303
    operator = english(operator)
    page = operator.get("/ops/services").text
    assert "Cookie lifetimes to correct" in page and "<code>vuid</code> “2 years”" in page
    owner = sign_in_member(app.test_client(), "acme", "owner", in_english=True)
    refused = owner.post(f"/organisations/acme/services/{old_video}/enable")
    assert refused.status_code == 409
    assert "The cookie vuid lasts longer than 13 months" in refused.text
    enabled = owner.post(f"/organisations/acme/services/{fine}/enable")
    assert enabled.status_code == 303, enabled.text[enabled.text.find('class="error"'):][:300]
    # Corrected, it can be enabled; a lifetime over the cap is refused like a tenant's.
    form = {**ENTRY, "cookies": "vuid | 25 months\nvs | session"}
    refused = operator.post(f"/ops/services/{old_video}", data=form)
    assert refused.status_code == 422
    assert "The cookie vuid lasts longer than 13 months" in refused.text
    assert operator.post(f"/ops/services/{old_video}", data={
        **form, "cookies": "vuid | 13 months\nvs | session"}).status_code == 303
    assert "Cookie lifetimes to correct" not in operator.get("/ops/services").text
    assert owner.post(f"/organisations/acme/services/{old_video}/enable").status_code == 303
    with tenants_api.tenant_context("acme") as session:
        copied = session.scalar(select(ConsentService).where(
            ConsentService.catalogue_id == old_video))
        assert copied is not None and copied.cookies[0] == {"name": "vuid", "duration": 13,
                                                            "unit": "months"}
    with app.app_context():
        db.session().execute(delete(ThirdPartyService))
        db.commit()
