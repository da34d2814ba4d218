"""Contract end: termination by the owner, the export bundle, the return window, destruction
after it with a certificate (re-runnable after a crash), and invoices kept 10 years."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from core.clock import utcnow
from tenants import api as tenants_api
from tests import factories
from tests.fixtures.people import signed_in
from webapp import db, migrate
from webapp.auth.models import Account, Membership
from webapp.billing.models import Invoice, Subscription
from webapp.contract import services, tasks
from webapp.contract.models import BundleDownload, ContractEnd, DestructionCertificate
from webapp.organisations.models import Tenant, TenantStatus

SLUG = "ending"
OWNER = "owner@ending.test"
ADMIN = "admin@ending.test"
PEOPLE = [("ada@ending.test", "Ada", "Lovelace"), ("grace@ending.test", "Grace", "Hopper")]
FORMULA = "=HYPERLINK(\"http://evil.test\",\"x\")"


@pytest.fixture
def ending(app: Flask) -> int:
    """A tenant with an owner, an admin, participants (one with a formula as a name), an
    event with registrations and an invoice; returns its id."""
    with app.app_context():
        tenant = factories.tenant(SLUG, name="Ending Club")
        factories.member(SLUG, OWNER, "owner")
        factories.member(SLUG, ADMIN, "admin")
        event = factories.event(SLUG)
        for email, first, last in PEOPLE:
            person = factories.participant(SLUG, email, first_name=first, last_name=last)
            factories.registration(SLUG, event, person)
        factories.participant(SLUG, "formula@ending.test", first_name=FORMULA)
        db.session().add(Invoice(stripe_invoice_id="in_1", tenant_id=tenant.id,
                                 tenant_slug=SLUG, number="PARVIS-0001", amount_cents=4900,
                                 currency="eur", billing_name="Ending Club",
                                 paid_at=utcnow() - timedelta(days=40)))
        db.commit()
        return tenant.id


def terminate(client, **fields: object):  # type: ignore[no-untyped-def]
    data = {"window_days": "60", "password": factories.PASSWORD, "confirm": "y", **fields}
    return client.post(f"/organisations/{SLUG}/contract/terminate", data=data)


def end_of(app: Flask, tenant_id: int) -> ContractEnd | None:
    with app.app_context():
        return services.contract_end(db.session(), tenant_id)


def status_of(app: Flask, tenant_id: int) -> TenantStatus:
    with app.app_context():
        return db.session().get(Tenant, tenant_id).status


def bundle_of(app: Flask, tenant_id: int) -> zipfile.ZipFile:
    end = end_of(app, tenant_id)
    assert end is not None and end.bundle_file
    with app.app_context():
        return zipfile.ZipFile(services.bundle_path(end))


# --- who may do what ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "moderator", "viewer"])
def test_other_roles_neither_see_nor_terminate(app, client, ending, role):
    with app.app_context():
        factories.member(SLUG, f"{role}@ending.test", role)
    signed_in(client, f"{role}@ending.test")
    assert client.get(f"/organisations/{SLUG}/contract").status_code == 403
    assert terminate(client).status_code == 403
    assert client.get(f"/organisations/{SLUG}/contract/bundle.zip").status_code == 403
    assert status_of(app, ending) == TenantStatus.ACTIVE


def test_admin_sees_the_page_but_only_the_owner_terminates(app, client, ending):
    signed_in(client, ADMIN)
    page = client.get(f"/organisations/{SLUG}/contract")
    assert page.status_code == 200
    assert "/contract/terminate" not in page.get_data(as_text=True)
    assert terminate(client).status_code == 403
    assert client.post(f"/organisations/{SLUG}/contract/window",
                       data={"window_days": "90"}).status_code == 403
    assert end_of(app, ending) is None


def test_outsiders_and_operators_are_refused(app, client, ending):
    assert client.get(f"/organisations/{SLUG}/contract").status_code == 302  # to sign in
    with app.app_context():
        factories.member("acme", "owner@acme.test", "owner")
        factories.account("ops@parvis.test", operator_role="admin")
    signed_in(client, "owner@acme.test")
    assert client.get(f"/organisations/{SLUG}/contract").status_code == 403
    assert terminate(client).status_code == 403
    assert client.get("/ops/certificates").status_code == 403
    signed_in(client, "ops@parvis.test")
    assert client.get(f"/organisations/{SLUG}/contract").status_code == 403
    assert client.get("/ops/certificates").status_code == 200
    assert client.get("/organisations/nobody/contract").status_code == 404


# --- termination ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "message"), [
    ({"password": "not my password"}, "This password is not right."),
    ({"password": ""}, "Enter your password."),
    ({"confirm": ""}, "Tick the box to confirm the termination."),
    ({"window_days": "29"}, "between 30 and 365 days"),
    ({"window_days": "366"}, "between 30 and 365 days"),
    ({"window_days": "soon"}, "between 30 and 365 days"),
])
def test_a_refused_termination_changes_nothing(app, client, english, ending, fields, message):
    english(signed_in(client, OWNER))
    response = terminate(client, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert end_of(app, ending) is None
    assert status_of(app, ending) == TenantStatus.ACTIVE


def test_owner_terminates_the_space_closes_and_the_bundle_is_built(app, client, english, ending,
                                                                     outbox):
    english(signed_in(client, OWNER))
    response = terminate(client, window_days="90")
    assert response.status_code == 303
    assert status_of(app, ending) == TenantStatus.ENDED
    end = end_of(app, ending)
    assert end.reason == services.OWNER_REQUEST and end.window_days == 90
    assert end.return_until - end.ended_at == timedelta(days=90)
    assert end.bundle_file and end.bundle_rows > 0  # the job ran after the commit
    # Owner and admin are told, each in their language, where to fetch it and until when.
    ready = outbox.wait_for(lambda m: m["To"] == OWNER and (
        "prêtes à être téléchargées" in m["Subject"]))  # the owner's language: French
    assert outbox.links(ready)[-1].endswith(f"/organisations/{SLUG}/contract")
    assert sorted(m["To"] for m in outbox.messages) == sorted([OWNER, ADMIN])
    page = client.get(f"/organisations/{SLUG}/contract").get_data(as_text=True)
    assert "Download the export (zip)" in page
    # Participants and members meet a notice; nothing is written any more.
    notice = client.get(f"/t/{SLUG}/")
    assert notice.status_code == 403
    assert "The contract between Ending Club and Parvis has ended" in notice.get_data(as_text=True)
    assert f"/organisations/{SLUG}/contract" in notice.get_data(as_text=True)  # the owner's way
    visitor = app.test_client()
    assert visitor.post(f"/t/{SLUG}/login", data={"email": PEOPLE[0][0]}).status_code == 403
    # A second termination is refused.
    assert terminate(client).status_code == 409


def test_a_running_stripe_subscription_is_cancelled_in_the_portal_not_here(app, client, english,
                                                                           ending):
    with app.app_context():
        db.session().add(Subscription(tenant_id=ending, plan="team", status="active",
                                      stripe_subscription_id="sub_live"))
        db.commit()
    english(signed_in(client, OWNER))
    page = client.get(f"/organisations/{SLUG}/contract").get_data(as_text=True)
    assert f"/organisations/{SLUG}/subscription" in page
    assert "/contract/terminate" not in page
    refused = terminate(client)
    assert refused.status_code == 409
    assert "cancel it from the Subscription page" in refused.get_data(as_text=True)
    assert end_of(app, ending) is None
    assert status_of(app, ending) == TenantStatus.ACTIVE


def test_the_notice_speaks_the_tenant_default_language(app, client):
    with app.app_context():
        tenant = factories.tenant("ended-en", name="Ended Ltd", language="en")
        services.end_contract(db.session(), tenant, services.SUBSCRIPTION_ENDED)
        db.commit()
    notice = client.get("/t/ended-en/")
    assert notice.status_code == 403
    assert "<h1>This space is closed</h1>" in notice.get_data(as_text=True)
    assert 'lang="en"' in notice.get_data(as_text=True)


def test_end_contract_from_billing_is_idempotent(app, ending):
    with app.app_context():
        tenant = db.session().get(Tenant, ending)
        first = services.end_contract(db.session(), tenant, services.SUBSCRIPTION_ENDED)
        db.commit()
        again = services.end_contract(db.session(), tenant, services.SUBSCRIPTION_ENDED)
        db.commit()
        assert again.id == first.id
        assert first.window_days == services.DEFAULT_WINDOW_DAYS
        assert db.session().scalar(select(func.count()).select_from(ContractEnd)) == 1
    assert status_of(app, ending) == TenantStatus.ENDED
    assert end_of(app, ending).bundle_file


def test_owner_changes_the_return_window(app, client, english, ending, clock):
    english(signed_in(client, OWNER))
    terminate(client)
    assert client.post(f"/organisations/{SLUG}/contract/window",
                       data={"window_days": "200"}).status_code == 303
    end = end_of(app, ending)
    assert end.return_until == end.ended_at + timedelta(days=200)
    refused = client.post(f"/organisations/{SLUG}/contract/window", data={"window_days": "400"})
    assert refused.status_code == 422
    assert "between 30 and 365 days" in refused.get_data(as_text=True)
    clock.advance(days=45)
    signed_in(client, OWNER)  # the login session expired meanwhile
    over = client.post(f"/organisations/{SLUG}/contract/window", data={"window_days": "40"})
    assert over.status_code == 422
    assert "already be over" in over.get_data(as_text=True)
    assert end_of(app, ending).window_days == 200


# --- the bundle -----------------------------------------------------------------------------------


def test_the_bundle_holds_every_tenant_table_as_json_and_csv(app, ending):
    with app.app_context():
        counts = tenants_api.table_counts(SLUG)
        services.end_contract(db.session(), db.session().get(Tenant, ending),
                              services.SUBSCRIPTION_ENDED)
        db.commit()
    bundle = bundle_of(app, ending)
    manifest = json.loads(bundle.read("manifest.json"))
    tables = set(tenants_api.metadata.tables)
    assert {t["name"] for t in manifest["tables"]} == tables
    assert {n for n in bundle.namelist() if n.startswith("json/")} == {
        f"json/{t}.json" for t in tables}
    assert {n for n in bundle.namelist() if n.startswith("csv/")} == {
        f"csv/{t}.csv" for t in tables}
    assert "README.txt" in bundle.namelist()
    assert manifest["schema_revision"] and manifest["generated_at"]
    for entry in manifest["tables"]:
        rows = json.loads(bundle.read(entry["json"]))
        lines = list(csv.reader(io.StringIO(bundle.read(entry["csv"]).decode("utf-8-sig"))))
        assert len(rows) == len(lines) - 1 == entry["rows"] == counts[entry["name"]]
        assert lines[0] == entry["columns"]
    assert counts["participants"] == 3 and counts["registrations"] == 2
    participants = json.loads(bundle.read("json/participants.json"))
    assert {p["email"] for p in participants} >= {email for email, _, _ in PEOPLE}


def test_bundle_csv_cells_are_formula_safe_and_json_keeps_the_value(app, ending):
    with app.app_context():
        services.end_contract(db.session(), db.session().get(Tenant, ending),
                              services.SUBSCRIPTION_ENDED)
        db.commit()
    bundle = bundle_of(app, ending)
    text = bundle.read("csv/participants.csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert "'" + FORMULA in {row["first_name"] for row in rows}
    assert FORMULA not in {row["first_name"] for row in rows}
    assert FORMULA in {p["first_name"] for p in json.loads(bundle.read("json/participants.json"))}


def test_large_tables_are_streamed_in_batches(app, ending, monkeypatch):
    from tenants import bundle as bundle_module

    monkeypatch.setattr(bundle_module, "BATCH", 2)
    with app.app_context():
        services.end_contract(db.session(), db.session().get(Tenant, ending),
                              services.SUBSCRIPTION_ENDED)
        db.commit()
    participants = json.loads(bundle_of(app, ending).read("json/participants.json"))
    assert sorted(p["id"] for p in participants) == sorted({p["id"] for p in participants})
    assert len(participants) == 3


def test_a_failed_build_is_tried_again_by_the_hourly_sweep(app, ending, clock, monkeypatch):
    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(tenants_api, "export_bundle", full_disk)
    with app.app_context():
        services.end_contract(db.session(), db.session().get(Tenant, ending),
                              services.SUBSCRIPTION_ENDED)
        db.commit()  # the job runs (and fails) inline in tests, after the commit
    assert end_of(app, ending).bundle_file is None
    monkeypatch.undo()
    with app.app_context():
        assert tasks.build_missing_bundles.call_local() == 0  # give the job's retries an hour
    clock.advance(hours=2)
    with app.app_context():
        assert tasks.build_missing_bundles.call_local() == 1
    assert end_of(app, ending).bundle_file
    with app.app_context():
        assert tasks.build_missing_bundles.call_local() == 0


def test_downloads_are_logged_and_refused_after_the_window(app, client, ending, clock):
    signed_in(client, OWNER)
    terminate(client)
    response = client.get(f"/organisations/{SLUG}/contract/bundle.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(response.data)).read("manifest.json")
    response.close()
    signed_in(client, ADMIN)
    again = client.get(f"/organisations/{SLUG}/contract/bundle.zip")
    assert again.status_code == 200
    again.close()
    with app.app_context():
        logged = db.session().scalars(select(BundleDownload)).all()
        assert len(logged) == 2 and all(d.account_id for d in logged)
    clock.advance(days=61)
    signed_in(client, OWNER)
    late = client.get(f"/organisations/{SLUG}/contract/bundle.zip")
    assert late.status_code == 410
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(BundleDownload)) == 2


# --- destruction ----------------------------------------------------------------------------------


def run_destruction(app: Flask) -> int:
    with app.app_context():
        queued = tasks.destroy_due.call_local()
        db.commit()
    return queued


def test_destruction_waits_for_the_window_then_destroys_and_certifies(app, client, ending, clock):
    signed_in(client, OWNER)
    terminate(client)
    with app.app_context():
        counts = tenants_api.table_counts(SLUG)
        bundle = services.bundle_path(end_of(app, ending))
    clock.advance(days=59)
    assert run_destruction(app) == 0
    assert tenants_api.exists(SLUG) and bundle.exists()
    clock.advance(days=2)
    assert run_destruction(app) == 1
    assert not tenants_api.exists(SLUG)
    assert not bundle.exists()
    with app.app_context():
        session = db.session()
        certificate = session.scalar(select(DestructionCertificate))
        assert certificate.tenant_slug == SLUG and certificate.tenant_name == "Ending Club"
        assert certificate.tenant_number == ending
        assert certificate.tables == counts
        assert set(certificate.tables) == set(tenants_api.metadata.tables)
        assert certificate.control_rows["memberships"] == 2
        assert certificate.bundle_deleted and certificate.window_days == 60
        assert session.scalar(select(func.count()).select_from(Membership).where(
            Membership.tenant_id == ending)) == 0
        # Invoices stay, with their tenant; the registry row stays, marked destroyed, and the
        # fleet migration leaves it alone (it has no schema to migrate).
        invoice = session.scalar(select(Invoice))
        assert invoice.tenant_id == ending and invoice.number == "PARVIS-0001"
        assert session.get(Tenant, ending).status == TenantStatus.DESTROYED
        session.get(Tenant, ending).schema_revision = "0000older"
        db.commit()
        assert SLUG not in migrate.pending_tenants()
    assert run_destruction(app) == 0  # nothing left to do
    # Nor can the command line open it again: it has no schema.
    refused = app.test_cli_runner().invoke(args=["tenants", "status", SLUG, "active"])
    assert refused.exit_code != 0 and "destroyed" in refused.output
    assert status_of(app, ending) == TenantStatus.DESTROYED
    # The tenant's pages still answer with the notice, without its data.
    assert app.test_client().get(f"/t/{SLUG}/").status_code == 403


def test_certificate_holds_no_personal_data(app, client, ending, clock, english):
    english(signed_in(client, OWNER))
    terminate(client)
    client.get(f"/organisations/{SLUG}/contract/bundle.zip").close()
    clock.advance(days=61)
    run_destruction(app)
    english(signed_in(client, OWNER))
    # The former owner keeps reading it (their membership is gone), printable.
    page = client.get(f"/organisations/{SLUG}/contract/certificate")
    assert page.status_code == 200
    contract_page = client.get(f"/organisations/{SLUG}/contract").get_data(as_text=True)
    assert "Destruction certificate" in contract_page
    account = client.get("/account").get_data(as_text=True)
    assert "Organisations whose data was destroyed" in account
    assert f"/organisations/{SLUG}/contract/certificate" in account
    with app.app_context():
        certificate = db.session().scalar(select(DestructionCertificate))
        stored = json.dumps({c.name: getattr(certificate, c.name)
                             for c in DestructionCertificate.__table__.columns}, default=str)
        factories.account("ops@parvis.test", operator_role="admin")
    html = page.get_data(as_text=True)
    assert certificate.reference in html and "downloaded 1 time" in html
    signed_in(client, "ops@parvis.test")
    listing = client.get("/ops/certificates").get_data(as_text=True)
    assert "Ending Club" in listing and certificate.reference in listing
    ops_view = client.get(f"/ops/certificates/{certificate.reference}").get_data(as_text=True)
    for text in (stored, html, listing, ops_view):
        for email, first, last in PEOPLE:
            assert email not in text and first not in text and last not in text
        assert OWNER not in text and ADMIN not in text and "formula@" not in text
    # An admin of the destroyed organisation is no longer a member: no certificate.
    signed_in(client, ADMIN)
    assert client.get(f"/organisations/{SLUG}/contract/certificate").status_code == 403


@pytest.mark.parametrize("crash_in", ["drop", "control_rows"])
def test_destruction_reruns_after_a_crash(app, client, ending, clock, monkeypatch, crash_in):
    signed_in(client, OWNER)
    terminate(client)
    with app.app_context():
        counts = tenants_api.table_counts(SLUG)
        end_id = end_of(app, ending).id

    def crash(*args: object) -> None:
        raise RuntimeError("the worker died")

    if crash_in == "drop":
        monkeypatch.setattr(tenants_api, "drop", crash)
    else:
        monkeypatch.setattr(services, "_delete_control_rows", crash)
    clock.advance(days=61)
    with app.app_context(), pytest.raises(RuntimeError):
        tasks.destroy.call_local(end_id)
    assert end_of(app, ending).inventory == counts  # committed before anything was destroyed
    assert end_of(app, ending).destroyed_at is None
    monkeypatch.undo()
    assert run_destruction(app) == 1
    assert not tenants_api.exists(SLUG)
    with app.app_context():
        certificate = db.session().scalar(select(DestructionCertificate))
        assert certificate.tables == counts
        assert db.session().scalar(select(func.count()).select_from(Invoice)) == 1
    with app.app_context():
        assert tasks.destroy.call_local(end_id) is False  # a duplicate job does nothing


def test_invoices_are_purged_after_ten_years_only(app, ending, clock):
    with app.app_context():
        session = db.session()
        for number, days in (("OLD", 365 * 10 + 5), ("RECENT", 365 * 9)):
            session.add(Invoice(stripe_invoice_id=f"in_{number}", tenant_id=ending,
                                tenant_slug=SLUG, number=number, amount_cents=100,
                                currency="eur", paid_at=utcnow() - timedelta(days=days)))
        db.commit()
        assert tasks.purge_invoices.call_local() == 1
        db.commit()
        kept = set(db.session().scalars(select(Invoice.number)))
    assert kept == {"PARVIS-0001", "RECENT"}


def test_bundle_folder_is_under_the_instance_path(app, ending):
    with app.app_context():
        services.end_contract(db.session(), db.session().get(Tenant, ending),
                              services.SUBSCRIPTION_ENDED)
        db.commit()
        path = services.bundle_path(end_of(app, ending))
    assert path.parent == Path(app.instance_path) / "bundles"
    assert SLUG in path.name and len(path.name) > len(SLUG) + 32  # not guessable


def test_dpa_acceptances_outlive_the_destruction_five_years(app, client, ending, clock):
    from webapp.dpa import services as processor
    from webapp.dpa import versions as dpa
    from webapp.dpa.models import DpaAcceptance

    with app.app_context():
        owner = db.session().scalar(select(Account).where(Account.email == OWNER))
        processor.accept(db.session(), ending, owner.id, dpa.current().id)
        db.commit()
    signed_in(client, OWNER)
    terminate(client)
    clock.advance(days=61)
    assert run_destruction(app) == 1

    def acceptances() -> list[str]:
        with app.app_context():
            return list(db.session().scalars(select(DpaAcceptance.account_email).where(
                DpaAcceptance.tenant_id == ending)))

    assert acceptances() == [OWNER]  # proof of what was agreed, by whom and when
    with app.app_context():
        certificate = db.session().scalar(select(DestructionCertificate))
        assert "dpa_acceptances" not in certificate.control_rows
    clock.advance(days=365 * 5 - 10)
    with app.app_context():
        tasks.purge_invoices.call_local()
        db.commit()
    assert acceptances() == [OWNER]
    clock.advance(days=15)
    with app.app_context():
        tasks.purge_invoices.call_local()
        db.commit()
    assert acceptances() == []


def test_a_week_before_the_destruction_owner_and_admin_are_reminded_once(app, client, ending,
                                                                          clock, outbox):
    signed_in(client, OWNER)
    terminate(client)  # a 60-day window
    outbox.wait_for(lambda m: m["To"] == OWNER)
    outbox.clear()

    def remind() -> int:
        with app.app_context():
            queued = tasks.remind_before_destruction.call_local()
            db.commit()
        return queued

    clock.advance(days=52)
    assert remind() == 0  # 8 days left
    clock.advance(days=1, hours=1)
    assert remind() == 1  # 6 days and 23 hours left: the day of the reminder
    outbox.wait_for(lambda m: m["To"] == OWNER)
    assert sorted(m["To"] for m in outbox.messages) == sorted([OWNER, ADMIN])
    clock.advance(days=1)
    assert remind() == 0  # once
