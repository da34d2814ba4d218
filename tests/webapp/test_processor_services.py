"""Third-party services: the operators' catalogue, a tenant enabling one, the owner's transfer
authorisation, the banner and CSP that follow; the registers' versions and printable pages; the
instructions log page. Who may do what, and forged requests that change nothing."""

from __future__ import annotations

import csv
import io

import pytest
from flask import Flask
from sqlalchemy import delete, func, select
from werkzeug.datastructures import MultiDict

from tenants import api as tenants_api
from tenants.consent import banner as consent_banner
from tenants.consent import cache as consent_cache
from tenants.consent.views import rate_limit
from tenants.instructions import services as instructions
from tenants.instructions.models import Instruction
from tests import factories
from tests.fixtures.people import english
from webapp import db
from webapp.catalogue import services as catalogue
from webapp.catalogue.models import ThirdPartyService, TransferAuthorisation
from webapp.registers.models import RegisterVersion

HOME = "/t/acme/"
US_VIDEO = {"name": "StreamUS", "provider": "StreamUS Inc.", "purpose": "embedded",
            "description_fr": "Lecteur vidéo", "description_en": "Video player",
            "data_fr": "Adresse IP", "data_en": "IP address", "location": "United States",
            "safeguard": "scc", "load_kind": "embed",
            "load_url": "https://player.streamus.example"}
EU_STATS = {**US_VIDEO, "name": "StatsEU", "provider": "Stats SAS", "purpose": "audience",
            "location": "France", "safeguard": "eu", "load_kind": "script",
            "load_url": "https://stats.eu.example"}


@pytest.fixture(autouse=True)
def _empty_catalogue(app: Flask):  # type: ignore[no-untyped-def]
    """The control migration seeds the catalogue; each test starts from its own entries."""
    with app.app_context():
        db.session().execute(delete(ThirdPartyService))
        db.commit()
    rate_limit.hits.clear()
    yield
    consent_cache.configs.forget()
    consent_cache.caches.forget_entries()


def entry(app: Flask, fields: dict) -> int:
    with app.app_context():
        made = catalogue.save(db.session(), catalogue.ServiceData(
            **fields, cookies=[{"name": "vuid", "duration": 13, "unit": "months"}]))
        db.commit()
        return made.id


def member(app: Flask, role: str, slug: str = "acme", email: str | None = None):  # type: ignore[no-untyped-def]
    with app.app_context():
        factories.member(slug, email or f"{role}@{slug}.test", role)
    client = app.test_client()
    assert factories.login(client, email or f"{role}@{slug}.test").status_code == 303
    return english(client)


def operator(app: Flask, role: str):  # type: ignore[no-untyped-def]
    with app.app_context():
        factories.account(f"{role}@parvis.test", operator_role=role)
    client = app.test_client()
    assert factories.login(client, f"{role}@parvis.test").status_code == 303
    return english(client)


def state(slug: str = "acme") -> dict[int, dict]:
    with tenants_api.tenant_context(slug):
        return tenants_api.catalogue_state()


def log(slug: str = "acme") -> list[Instruction]:
    with tenants_api.tenant_context(slug) as session:
        return list(session.scalars(select(Instruction).order_by(Instruction.id)))


def authorisations(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(TransferAuthorisation))


def accept_all(client, slug: str = "acme"):  # type: ignore[no-untyped-def]
    with tenants_api.tenant_context(slug) as session:
        version = consent_banner.get_row(session).version
    return client.post(f"/t/{slug}/cookies", data=MultiDict(
        {"decision": "accept", "version": str(version), "next": f"/t/{slug}/"}))


def banner(client, slug: str = "acme") -> str:  # type: ignore[no-untyped-def]
    return client.get(f"/t/{slug}/").get_data(as_text=True)


# --- the catalogue -------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "expected"), [("admin", 200), ("privacy", 200),
                                                ("support", 403)])
def test_catalogue_is_for_admin_and_privacy_operators(app, role, expected):
    client = operator(app, role)
    assert client.get("/ops/services").status_code == expected
    made = entry(app, EU_STATS)
    assert client.get(f"/ops/services/{made}").status_code == expected
    assert client.post("/ops/services", data={**US_VIDEO, "cookies": ""}).status_code in (
        (303,) if expected == 200 else (403,))


@pytest.mark.parametrize("role", ["owner", "admin", "viewer"])
def test_members_never_reach_the_catalogue(app, role):
    client = member(app, role)
    made = entry(app, EU_STATS)
    assert client.get("/ops/services").status_code == 403
    assert client.post(f"/ops/services/{made}", data={**EU_STATS, "name": "X"}).status_code == 403
    with app.app_context():
        assert db.session().get(ThirdPartyService, made).name == "StatsEU"


def test_operators_add_and_edit_entries_each_change_a_new_version(app):
    client = operator(app, "privacy")
    response = client.post("/ops/services", data={
        **US_VIDEO, "cookies": "vuid | 13 months\n__cf_bm | 30 minutes"})
    assert response.status_code == 303
    with app.app_context():
        made = db.session().scalars(select(ThirdPartyService)).one()
        assert made.outside_eu and made.version == 1
        assert made.cookies == [{"name": "vuid", "duration": 13, "unit": "months"},
                                {"name": "__cf_bm", "duration": 30, "unit": "minutes"}]
        made_id = made.id
    form = {**US_VIDEO, "cookies": "vuid | 13 months\n__cf_bm | 30 minutes"}
    assert client.post(f"/ops/services/{made_id}", data=form).status_code == 303
    with app.app_context():
        assert db.session().get(ThirdPartyService, made_id).version == 1  # nothing changed
    assert client.post(f"/ops/services/{made_id}",
                       data={**form, "location": "Canada"}).status_code == 303
    with app.app_context():
        assert db.session().get(ThirdPartyService, made_id).version == 2
    assert client.get("/ops/services/999999").status_code == 404


@pytest.mark.parametrize("bad", [
    {"load_url": "http://insecure.example"}, {"load_url": ""}, {"load_kind": "none"},
    {"cookies": "no lifetime"}, {"cookies": "vuid | 2 years"}, {"cookies": "vuid | 14 mois"},
    {"safeguard": "moon"}, {"purpose": "spying"}, {"name": ""},
    {"load_url": "https://a.example/x'onload"}])
def test_bad_catalogue_entries_are_refused(app, bad):
    client = operator(app, "admin")
    response = client.post("/ops/services", data={**US_VIDEO, "cookies": "", **bad})
    assert response.status_code == 422
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(ThirdPartyService)) == 0


# --- enabling, blocking, authorising -------------------------------------------------------------


def test_an_eu_service_is_in_the_banner_and_csp_once_enabled_and_gone_once_disabled(app):
    stats = entry(app, EU_STATS)
    admin = member(app, "admin")
    visitor = app.test_client()
    assert "StatsEU" not in banner(visitor)
    assert admin.get("/organisations/acme/services").status_code == 200
    response = admin.post(f"/organisations/acme/services/{stats}/enable")
    assert response.status_code == 303
    assert state() == {stats: {"version": 1, "blocked": False}}
    assert "StatsEU" in banner(visitor)
    accept_all(visitor)
    page = visitor.get(HOME)
    assert "https://stats.eu.example" in page.headers["Content-Security-Policy"]
    assert '<script src="https://stats.eu.example" defer></script>' in page.get_data(
        as_text=True)
    # Disabling stops it on the very next request: loader, CSP and banner.
    assert admin.post(f"/organisations/acme/services/{stats}/disable").status_code == 303
    page = visitor.get(HOME)
    assert "stats.eu.example" not in page.headers["Content-Security-Policy"]
    assert "StatsEU" not in page.get_data(as_text=True)
    assert state() == {}
    assert [(i.area, i.summary) for i in log()] == [
        ("services", "Enabled StatsEU (Stats SAS, France)"),
        ("services", "Disabled StatsEU (Stats SAS)")]
    assert admin.post(f"/organisations/acme/services/{stats}/disable").status_code == 409


def test_htmx_enabling_answers_the_list(app):
    stats = entry(app, EU_STATS)
    admin = member(app, "owner")
    response = admin.post(f"/organisations/acme/services/{stats}/enable",
                          headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and "Disable" in html
    again = admin.post(f"/organisations/acme/services/{stats}/disable",
                       headers={"HX-Request": "true"})
    assert again.status_code == 200
    refused = admin.post(f"/organisations/acme/services/{stats}/disable",
                         headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "This service is not enabled." in refused.text


def test_a_us_service_stays_blocked_until_the_owner_authorises_the_transfer(app):
    video = entry(app, US_VIDEO)
    admin = member(app, "admin")
    owner = member(app, "owner")
    visitor = app.test_client()
    assert admin.post(f"/organisations/acme/services/{video}/enable").status_code == 303
    assert state() == {video: {"version": 1, "blocked": True}}
    page = admin.get("/organisations/acme/services").get_data(as_text=True)
    assert "Blocked: waiting for the owner" in page and "Review and authorise" not in page
    assert "StreamUS" not in banner(visitor)
    accept_all(visitor)
    assert "streamus" not in visitor.get(HOME).headers["Content-Security-Policy"]
    register = owner.get("/organisations/acme/processor-register").get_data(as_text=True)
    assert "StreamUS" not in register
    # Only the owner authorises, from a screen showing the destination and the safeguard.
    assert admin.get(f"/organisations/acme/services/{video}/transfer").status_code == 403
    screen = owner.get(f"/organisations/acme/services/{video}/transfer").get_data(as_text=True)
    assert "United States" in screen and "Standard contractual clauses" in screen
    assert owner.post(f"/organisations/acme/services/{video}/transfer",
                      data={"version": "1"}).status_code == 422  # the box not ticked
    assert owner.post(f"/organisations/acme/services/{video}/transfer",
                      data={"version": "1", "confirm": "y"}).status_code == 303
    assert state() == {video: {"version": 1, "blocked": False}}
    with app.app_context():
        proof = db.session().scalars(select(TransferAuthorisation)).one()
        assert (proof.service_version, proof.destination, proof.safeguard,
                proof.account_email) == (1, "United States", "scc", "owner@acme.test")
    visitor = app.test_client()
    assert "StreamUS" in banner(visitor)
    accept_all(visitor)
    assert "frame-src https://player.streamus.example" in visitor.get(HOME).headers[
        "Content-Security-Policy"]
    register = owner.get("/organisations/acme/processor-register").get_data(as_text=True)
    assert "StreamUS Inc. — Embedded content" in register  # a service, and a transfer
    assert "Third-party service authorised by the organisation — Standard contractual" in register
    assert [i.area for i in log()] == ["services", "services"]
    assert "Authorised the transfer of data to United States" in log()[-1].summary
    # A second authorisation changes nothing.
    assert owner.post(f"/organisations/acme/services/{video}/transfer",
                      data={"version": "1", "confirm": "y"}).status_code == 409
    assert authorisations(app) == 1


def test_forged_authorisations_change_nothing(app):
    video = entry(app, US_VIDEO)
    stats = entry(app, EU_STATS)
    other = entry(app, {**US_VIDEO, "name": "CRM US"})
    owner = member(app, "owner")
    admin = member(app, "admin")
    globex_owner = member(app, "owner", "globex", "owner@globex.test")
    owner.post(f"/organisations/acme/services/{video}/enable")
    confirm = {"version": "1", "confirm": "y"}
    # A non-owner, another organisation's owner, an unknown or an EU service, one not enabled.
    assert admin.post(f"/organisations/acme/services/{video}/transfer",
                      data=confirm).status_code == 403
    assert globex_owner.post(f"/organisations/acme/services/{video}/transfer",
                             data=confirm).status_code == 403
    assert globex_owner.post(f"/organisations/globex/services/{video}/transfer",
                             data=confirm).status_code == 409  # enabled by acme, not globex
    assert owner.post(f"/organisations/acme/services/{stats}/transfer",
                      data=confirm).status_code == 404
    assert owner.post("/organisations/acme/services/999999/transfer",
                      data=confirm).status_code == 404
    assert owner.post(f"/organisations/acme/services/{other}/transfer",
                      data=confirm).status_code == 409
    assert owner.post(f"/organisations/acme/services/{video}/transfer",
                      data={"version": "7", "confirm": "y"}).status_code == 409
    assert owner.post(f"/organisations/acme/services/{video}/transfer",
                      data={"version": "x", "confirm": "y"}).status_code == 422
    assert state() == {video: {"version": 1, "blocked": True}}
    assert state("globex") == {}
    assert authorisations(app) == 0
    assert [i.summary for i in log()][1:] == []


def test_a_changed_catalogue_entry_needs_enabling_again(app):
    video = entry(app, US_VIDEO)
    owner = member(app, "owner")
    owner.post(f"/organisations/acme/services/{video}/enable")
    operator(app, "privacy").post(f"/ops/services/{video}",
                                  data={**US_VIDEO, "location": "Canada", "cookies": ""})
    page = owner.get("/organisations/acme/services").get_data(as_text=True)
    assert "Updated in the catalogue since you enabled it" in page
    assert owner.post(f"/organisations/acme/services/{video}/transfer",
                      data={"version": "2", "confirm": "y"}).status_code == 409
    assert owner.post(f"/organisations/acme/services/{video}/transfer",
                      data={"version": "1", "confirm": "y"}).status_code == 409
    assert authorisations(app) == 0


def test_a_read_only_organisation_cannot_change_its_services(app):
    from webapp.organisations.models import Tenant, TenantStatus

    stats = entry(app, EU_STATS)
    owner = member(app, "owner")
    with app.app_context():
        db.session().scalars(select(Tenant).where(Tenant.slug == "acme")).one().status = (
            TenantStatus.READ_ONLY)
        db.commit()
    assert owner.post(f"/organisations/acme/services/{stats}/enable").status_code == 409
    assert state() == {}


@pytest.mark.parametrize("role", ["manager", "moderator", "viewer"])
def test_other_members_get_403_on_every_page(app, role):
    video = entry(app, US_VIDEO)
    client = member(app, role)
    for path in ("/organisations/acme/services", f"/organisations/acme/services/{video}/transfer",
                 "/organisations/acme/instructions", "/organisations/acme/instructions.csv",
                 "/organisations/acme/processor-register/print"):
        assert client.get(path).status_code == 403, path
    for path in (f"/organisations/acme/services/{video}/enable",
                 f"/organisations/acme/services/{video}/disable",
                 f"/organisations/acme/services/{video}/transfer"):
        assert client.post(path, data={"version": "1", "confirm": "y"}).status_code == 403
    assert state() == {}


@pytest.mark.parametrize("role", ["admin", "privacy", "support"])
def test_operators_are_not_members(app, role):
    video = entry(app, US_VIDEO)
    client = operator(app, role)
    for path in ("/organisations/acme/services", "/organisations/acme/instructions"):
        assert client.get(path).status_code == 403
    assert client.post(f"/organisations/acme/services/{video}/enable").status_code == 403
    assert client.get("/organisations/nope/services").status_code == 404
    assert state() == {}


def test_admins_enable_in_their_own_organisation_only(app):
    video = entry(app, US_VIDEO)
    globex_admin = member(app, "admin", "globex", "admin@globex.test")
    assert globex_admin.post(f"/organisations/acme/services/{video}/enable").status_code == 403
    assert globex_admin.post(f"/organisations/globex/services/{video}/enable").status_code == 303
    assert state() == {} and video in state("globex")


# --- registers: versions, print, CSV -------------------------------------------------------------


def versions_of(app: Flask, slug: str | None) -> list[int]:
    with app.app_context():
        query = select(RegisterVersion.number).order_by(RegisterVersion.number)
        if slug is None:
            query = query.where(RegisterVersion.tenant_id.is_(None))
        else:
            from webapp.organisations import services as org_services

            query = query.where(RegisterVersion.tenant_id == org_services.get(
                db.session(), slug).id)
        return list(db.session().scalars(query))


def test_a_register_version_is_stored_only_when_its_content_changes(app):
    stats = entry(app, EU_STATS)
    owner = member(app, "owner")
    owner.get("/organisations/acme/processor-register")
    owner.get("/organisations/acme/processor-register")
    owner.get("/organisations/acme/processor-register.csv")
    assert versions_of(app, "acme") == [1]
    owner.post(f"/organisations/acme/services/{stats}/enable")  # checked after the commit
    assert versions_of(app, "acme") == [1, 2]
    owner.get("/organisations/acme/processor-register")
    assert versions_of(app, "acme") == [1, 2]
    assert versions_of(app, "globex") == []
    first = owner.get("/organisations/acme/processor-register/v1").get_data(as_text=True)
    assert "Former version 1" in first and "StatsEU" not in first
    assert "StatsEU" in owner.get("/organisations/acme/processor-register/v2").get_data(
        as_text=True)
    assert owner.get("/organisations/acme/processor-register/v3").status_code == 404
    old = owner.get("/organisations/acme/processor-register.csv?version=1")
    assert "StatsEU" not in old.get_data(as_text=True)
    assert "v1.csv" in old.headers["Content-Disposition"]


def test_the_nightly_check_stores_changes_made_in_the_tenants_pages(app):
    from webapp.registers.tasks import remember_registers

    with app.app_context():
        remember_registers.call_local()
    assert versions_of(app, "acme") == [1] and versions_of(app, None) == [1]
    factories.custom_field("acme", label={"fr": "Société", "en": "Company"})
    with app.app_context():
        remember_registers.call_local()
    assert versions_of(app, "acme") == [1, 2] and versions_of(app, None) == [1]


def test_printable_pages_have_no_navigation(app):
    owner = member(app, "owner")
    page = owner.get("/organisations/acme/processor-register/print")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<nav" not in html and "print.css" in html and "Security measures" in html
    privacy = operator(app, "privacy")
    html = privacy.get("/ops/records/print").get_data(as_text=True)
    assert "<nav" not in html and "Security logs and sign-in sessions" in html
    assert privacy.get("/ops/processor-registers/acme/print").status_code == 200
    assert operator(app, "support").get("/ops/records/print").status_code == 403


def test_controller_register_versions(app):
    privacy = operator(app, "privacy")
    privacy.get("/ops/records")
    privacy.get("/ops/records")
    assert versions_of(app, None) == [1]
    assert "Version 1" in privacy.get("/ops/records/v1").get_data(as_text=True)
    assert privacy.get("/ops/records/v2").status_code == 404
    assert privacy.get("/ops/records.csv?version=1").status_code == 200


# --- the instructions log page -------------------------------------------------------------------


def test_instructions_log_shows_who_and_when_paginated_with_a_csv(app):
    owner = member(app, "owner")
    with app.app_context():
        from webapp.auth.models import Account

        account = db.session().scalars(select(Account).where(
            Account.email == "owner@acme.test")).one()
        account.display_name = "Alice <b>Owner</b>"
        db.commit()
        owner_id = account.id
    with app.app_context(), tenants_api.tenant_context("acme") as session:
        instructions.record(session, "retention", "=Kept registrations 6 months",
                            member_id=None)
        for number in range(55):
            instructions.record(session, "fields", f"Change {number}", member_id=owner_id)
    first = owner.get("/organisations/acme/instructions").get_data(as_text=True)
    assert "Alice &lt;b&gt;Owner&lt;/b&gt;" in first and "Change 54" in first
    assert "Page 1 of 2" in first and "Platform" not in first
    second = owner.get("/organisations/acme/instructions?page=2").get_data(as_text=True)
    assert "Platform" in second and "Retention" in second
    assert owner.get("/organisations/acme/instructions?page=3").status_code == 404
    assert owner.get("/organisations/acme/instructions?page=x").status_code == 200
    rows = list(csv.reader(io.StringIO(owner.get("/organisations/acme/instructions.csv")
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["Time (UTC)", "Area", "Change", "By"]
    assert rows[1][1:] == ["Retention", "'=Kept registrations 6 months", "Platform"]
    assert len(rows) == 57
    # Another organisation's log is its own.
    globex = member(app, "admin", "globex", "admin@globex.test")
    assert "Change 1" not in globex.get("/organisations/globex/instructions").get_data(
        as_text=True)
    assert globex.get("/organisations/acme/instructions").status_code == 403
