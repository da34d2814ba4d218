"""Processor duties: the DPA and its acceptances, sub-processor changes and objections, the
controller register, the public legal pages, and who may see each page."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask, g, render_template
from hypothesis import given, settings
from sqlalchemy import delete, func, select, update

from core.clock import utcnow
from core.web.spreadsheet import csv_line, neutralise
from tenants import api as tenants_api
from tenants.retention import services as retention
from tests import factories
from tests.fixtures.people import client_for as signed_in
from tests.webapp.test_bad_input import fuzz, odd_text
from webapp import db
from webapp.auth.models import Account
from webapp.dpa import services as dpa_services
from webapp.dpa import versions as dpa
from webapp.dpa.models import DpaAcceptance
from webapp.registers import controller as register
from webapp.retention import services as retention_services
from webapp.subprocessors import services
from webapp.subprocessors.models import Objection, SubProcessor, SubProcessorChange

OPERATOR = "privacy@parvis.test"
OWNER = "owner@acme.test"
GLOBEX_OWNER = "owner@globex.test"
ENTRY = {"name": "Mailgun <b>EU</b>", "purpose_fr": "Envoi des e-mails",
         "purpose_en": "Sending e-mails", "data_fr": "Adresse e-mail",
         "data_en": "E-mail address", "location": "Germany", "safeguard": "eu"}


@pytest.fixture(autouse=True)
def empty_sub_processor_list(app: Flask) -> None:
    """The control migration fills the list; the session's first test would still see it
    (conftest empties tables after each test), so every test here starts from none."""
    with app.app_context():
        db.session().execute(delete(SubProcessor))
        db.commit()


def today() -> date:
    return datetime.now(UTC).date()


def tenant_id(slug: str) -> int:
    from webapp.organisations import services as org_services

    return org_services.get(db.session(), slug).id


def count(model: type) -> int:
    return db.session().scalar(select(func.count()).select_from(model))


def make_entry(**listed: date | None) -> SubProcessor:
    entry = services.save_sub_processor(db.session(), services.SubProcessorData(**ENTRY))
    for name, value in listed.items():
        setattr(entry, name, value)
    db.commit()
    return entry


def announce(entry: SubProcessor, days: int = 30, kind: str = "added") -> SubProcessorChange:
    change = services.announce(db.session(), entry, kind=kind, objection_days=days,
                               effective_on=utcnow().date() + timedelta(days=days + 1))
    db.commit()
    return change


# --- the DPA text ---------------------------------------------------------------------------


def test_dpa_current_version_exists_in_both_languages_with_its_hash():
    current = dpa.current()
    for language in dpa.LANGUAGES:
        text = (dpa.TEXTS / f"dpa-{current.id}.{language}.txt").read_text(encoding="utf-8")
        assert current.sha256(language) == hashlib.sha256(text.encode()).hexdigest()
        blocks = current.blocks(language)
        assert blocks[0].kind == "title"
        # Every Art. 28(3) item, a) to h), is in the obligations list.
        items = [line for b in blocks if b.kind == "list" for line in b.lines]
        assert [line[:2] for line in items if line[1:2] == ")"] == [
            f"{letter})" for letter in "abcdefgh"]
        assert "24" in current.text(language) and "60" in current.text(language)
        assert "/legal/sub-processors" in current.text(language)
    assert current.sha256("fr") != current.sha256("en")


def test_dpa_text_format_is_parsed_into_blocks():
    blocks = dpa.parse("# Title\n\n## Part\n\nOne\nparagraph.\n\n- a\n- b\n")
    assert [(b.kind, b.lines) for b in blocks] == [
        ("title", ("Title",)), ("heading", ("Part",)), ("paragraph", ("One paragraph.",)),
        ("list", ("a", "b"))]


def test_accepting_the_dpa_records_version_account_time_and_hash(ctx):
    owner = factories.member("acme", OWNER)
    acme = tenant_id("acme")
    assert dpa_services.dpa_pending(acme)

    acceptance = dpa_services.accept(db.session(), acme, owner.id, dpa.current().id, "en")
    db.commit()

    assert not dpa_services.dpa_pending(acme)
    assert dpa_services.dpa_pending(tenant_id("globex"))
    assert (acceptance.version, acceptance.account_email, acceptance.language) == (
        dpa.current().id, OWNER, "en")
    assert acceptance.text_sha256 == dpa.current().sha256("en")
    assert acceptance.accepted_at <= utcnow()
    # Accepting again changes nothing.
    assert dpa_services.accept(db.session(), acme, owner.id, dpa.current().id).id == acceptance.id
    assert count(DpaAcceptance) == 1


def test_an_old_or_unknown_version_cannot_be_accepted(ctx):
    owner = factories.member("acme", OWNER)
    for version in ("2000-01-01", "", "x" * 500):
        with pytest.raises(services.ProcessorError) as refused:
            dpa_services.accept(db.session(), tenant_id("acme"), owner.id, version)
        assert refused.value.status == 409
    assert count(DpaAcceptance) == 0


def test_banner_lists_only_owned_tenants_waiting_for_acceptance(app):
    with app.app_context():
        owner = factories.member("acme", OWNER)
        factories.member("globex", OWNER, "admin")
        owner_id = owner.id
    with app.test_request_context("/"):
        g._login_user = db.session().get(Account, owner_id)
        html = render_template("layout.html")  # which includes the banner when it shows
        assert 'class="notice dpa-banner"' in html and "/organisations/acme/dpa" in html
        assert "globex" not in html  # an admin there, not an owner
        dpa_services.accept(db.session(), tenant_id("acme"), owner_id, dpa.current().id)
        assert "dpa-banner" not in render_template("layout.html")


def test_owner_reads_and_accepts_the_dpa(app, english):
    owner = english(signed_in(app, OWNER, slug="acme"))
    page = owner.get("/organisations/acme/dpa")
    assert page.status_code == 200
    assert "Data Processing Agreement" in page.get_data(as_text=True)
    assert "Accept the agreement" in page.get_data(as_text=True)

    refused = owner.post("/organisations/acme/dpa", data={"version": dpa.current().id})
    assert refused.status_code == 422
    assert "Tick the box" in refused.get_data(as_text=True)

    stale = owner.post("/organisations/acme/dpa", data={"version": "2001-01-01", "confirm": "y"})
    assert stale.status_code == 409
    assert "no longer the current one" in stale.get_data(as_text=True)

    done = owner.post("/organisations/acme/dpa", data={"version": dpa.current().id,
                                                       "confirm": "y"})
    assert done.status_code == 303
    page = owner.get("/organisations/acme/dpa").get_data(as_text=True)
    assert "has accepted the current version" in page and OWNER in page
    with app.app_context():
        assert not dpa_services.dpa_pending(tenant_id("acme"))


@pytest.mark.parametrize("role", ["manager", "moderator", "viewer"])
def test_dpa_page_is_for_owners_and_admins(app, role):
    client = signed_in(app, f"{role}@acme.test", slug="acme", role=role)
    assert client.get("/organisations/acme/dpa").status_code == 403
    assert client.post("/organisations/acme/dpa", data={
        "version": dpa.current().id, "confirm": "y"}).status_code == 403


def test_admin_sees_acceptances_but_only_an_owner_accepts(app):
    admin = signed_in(app, "admin@acme.test", slug="acme", role="admin")
    assert admin.get("/organisations/acme/dpa").status_code == 200
    assert admin.post("/organisations/acme/dpa", data={
        "version": dpa.current().id, "confirm": "y"}).status_code == 403
    with app.app_context():
        assert count(DpaAcceptance) == 0


def test_dpa_of_another_tenant_unknown_tenant_operator_and_anonymous(app):
    globex_owner = signed_in(app, GLOBEX_OWNER, slug="globex")
    assert globex_owner.get("/organisations/acme/dpa").status_code == 403
    assert globex_owner.post("/organisations/acme/dpa", data={
        "version": dpa.current().id, "confirm": "y"}).status_code == 403
    assert globex_owner.get("/organisations/nope/dpa").status_code == 404
    assert globex_owner.get("/organisations/ACME%00/dpa").status_code == 404
    operator = signed_in(app, OPERATOR, operator_role="admin")
    assert operator.get("/organisations/acme/dpa").status_code == 403
    assert app.test_client().get("/organisations/acme/dpa").status_code == 302
    with app.app_context():
        assert count(DpaAcceptance) == 0


def test_operators_see_every_tenants_acceptances(app):
    with app.app_context():
        owner = factories.member("acme", OWNER)
        dpa_services.accept(db.session(), tenant_id("acme"), owner.id, dpa.current().id)
        db.commit()
    support = signed_in(app, "support@parvis.test", operator_role="support")
    page = support.get("/ops/dpa").get_data(as_text=True)
    assert OWNER in page and "Acme" in page and "Globex" in page
    assert signed_in(app, "o2@acme.test", slug="acme").get("/ops/dpa").status_code == 403


# --- sub-processors ----------------------------------------------------------------------------


def test_public_list_shows_listed_entries_only_escaped_in_both_languages(app, client, english):
    now = today()
    with app.app_context():
        make_entry(listed_from=now - timedelta(days=1))
        draft = make_entry()
        draft.name = "Draft Corp"
        gone = make_entry(listed_from=now - timedelta(days=9), listed_until=now)
        gone.name = "Gone Corp"
        db.commit()
    french = client.get("/legal/sub-processors").get_data(as_text=True)
    assert "Mailgun &lt;b&gt;EU&lt;/b&gt;" in french and "<b>EU</b>" not in french
    assert "Envoi des e-mails" in french and "Draft Corp" not in french
    assert "Gone Corp" not in french
    page = english(client).get("/legal/sub-processors").get_data(as_text=True)
    assert "Sending e-mails" in page and "Processed in the EU/EEA" in page


def test_announcing_an_addition_lists_it_from_its_effective_date(ctx):
    entry = make_entry()
    change = announce(entry, days=10)
    assert change.objection_deadline - change.announced_at == timedelta(days=10)
    assert entry.listed_from == change.effective_on
    on = utcnow().date()
    assert services.listed(db.session(), on) == []
    assert services.upcoming(db.session(), on) == [change]
    assert services.listed(db.session(), change.effective_on) == [entry]

    removal = announce(entry, days=30, kind="removed")
    assert services.listed(db.session(), removal.effective_on) == []


@pytest.mark.parametrize(("days", "offset", "field"), [
    (0, 40, "objection_days"), (181, 200, "objection_days"),
    (30, 29, "effective_on"), (30, -5, "effective_on")])
def test_announcement_refuses_bad_windows(ctx, days, offset, field):
    entry = make_entry()
    with pytest.raises(services.ProcessorError) as refused:
        services.announce(db.session(), entry, kind="added", objection_days=days,
                          effective_on=utcnow().date() + timedelta(days=offset))
    assert refused.value.field == field
    assert count(SubProcessorChange) == 0 and entry.listed_from is None


def test_operator_announces_owners_are_emailed_one_objects_operator_sees_it(
        app, outbox, english):
    operator = english(signed_in(app, OPERATOR, operator_role="privacy"))
    acme_owner = english(signed_in(app, OWNER, slug="acme"))
    with app.app_context():
        factories.member("globex", GLOBEX_OWNER)
        factories.member("globex", "viewer@globex.test", "viewer")

    created = operator.post("/ops/sub-processors", data=ENTRY)
    assert created.status_code == 303
    with app.app_context():
        entry_id = db.session().scalar(select(SubProcessor.id))
    effective = (today() + timedelta(days=45)).isoformat()
    announced = operator.post(f"/ops/sub-processors/{entry_id}/announce", data={
        "kind": "added", "effective_on": effective, "objection_days": "30",
        "note_en": "Replaces our current provider.", "note_fr": "Remplace notre prestataire."})
    assert announced.status_code == 303

    recipients = sorted(m["To"] for m in outbox.messages)
    assert recipients == sorted([GLOBEX_OWNER, OWNER])
    mail = outbox.wait_for(lambda m: m["To"] == OWNER)
    assert "Mailgun" in mail["Subject"]
    assert any(link.endswith("/organisations/acme/sub-processors")
               for link in outbox.links(mail))
    assert "Remplace notre prestataire." in outbox.text(mail)  # the owner's language: French

    # Every page the owner opens says so until the organisation objects or the window closes.
    home = acme_owner.get("/account").get_data(as_text=True)
    assert "Parvis announces a change of sub-processor (" in home and "You may object until" in home
    assert 'href="/organisations/acme/sub-processors"' in home

    page = acme_owner.get("/organisations/acme/sub-processors")
    assert page.status_code == 200
    assert "Replaces our current provider." in page.get_data(as_text=True)
    with app.app_context():
        change_id = db.session().scalar(select(SubProcessorChange.id))
    objected = acme_owner.post(f"/organisations/acme/sub-processors/{change_id}/objection",
                               data={"reason": "Our <contract> forbids it"})
    assert objected.status_code == 303
    assert "Your organisation objected" in acme_owner.get(
        "/organisations/acme/sub-processors").get_data(as_text=True)
    assert "You may object until" not in acme_owner.get("/account").get_data(as_text=True)

    again = acme_owner.post(f"/organisations/acme/sub-processors/{change_id}/objection",
                            data={"reason": "twice"})
    assert again.status_code == 409
    assert "already objected" in again.get_data(as_text=True)

    listing = operator.get("/ops/sub-processors/objections").get_data(as_text=True)
    assert "Our &lt;contract&gt; forbids it" in listing and OWNER in listing
    assert "1 objection" in listing
    with app.app_context():
        objection = db.session().scalars(select(Objection)).one()
        assert (objection.tenant_id, objection.account_email) == (tenant_id("acme"), OWNER)


def test_objections_forged_for_another_tenant_unknown_or_closed_change_nothing(app):
    with app.app_context():
        open_change = announce(make_entry())
        closed = announce(make_entry())
        db.session().execute(update(SubProcessorChange).where(
            SubProcessorChange.id == closed.id).values(
            objection_deadline=utcnow() - timedelta(seconds=1)))
        db.commit()
        open_id, closed_id = open_change.id, closed.id
    globex_owner = signed_in(app, GLOBEX_OWNER, slug="globex")
    assert globex_owner.post(f"/organisations/acme/sub-processors/{open_id}/objection",
                             data={"reason": "forged"}).status_code == 403
    assert globex_owner.post("/organisations/globex/sub-processors/999999/objection",
                             data={}).status_code == 404
    expired = globex_owner.post(f"/organisations/globex/sub-processors/{closed_id}/objection",
                                data={})
    assert expired.status_code == 409
    assert globex_owner.post(f"/organisations/globex/sub-processors/{open_id}/objection",
                             data={"reason": "x" * 2001}).status_code == 422
    # NUL characters are refused before any view (core.web.security).
    assert globex_owner.post(f"/organisations/globex/sub-processors/{open_id}/objection",
                             data={"reason": "a\x00b"}).status_code == 400
    with app.app_context():
        assert count(Objection) == 0


def test_services_refuse_nul_characters_from_callers_other_than_forms(ctx):
    with pytest.raises(services.ProcessorError):
        services.save_sub_processor(db.session(), services.SubProcessorData(
            **{**ENTRY, "purpose_en": "a\x00b"}))
    assert count(SubProcessor) == 0


def test_objection_service_refuses_twice_closed_and_unknown(ctx):
    owner = factories.member("acme", OWNER)
    change = announce(make_entry())
    services.object_to(db.session(), change.id, tenant_id("acme"), owner.id, " why ")
    with pytest.raises(services.ProcessorError) as twice:
        services.object_to(db.session(), change.id, tenant_id("acme"), owner.id)
    assert twice.value.status == 409
    with pytest.raises(services.ProcessorError) as unknown:
        services.object_to(db.session(), change.id + 1, tenant_id("acme"), owner.id)
    assert unknown.value.status == 404
    assert [o.reason for o in services.objections(db.session())] == ["why"]


@pytest.mark.parametrize("role", ["admin", "manager", "moderator", "viewer"])
def test_objection_page_is_for_owners_only(app, role):
    with app.app_context():
        change_id = announce(make_entry()).id
    member = signed_in(app, f"{role}@acme.test", slug="acme", role=role)
    assert member.get("/organisations/acme/sub-processors").status_code == 403
    assert member.post(f"/organisations/acme/sub-processors/{change_id}/objection",
                       data={}).status_code == 403
    with app.app_context():
        assert count(Objection) == 0


OPS_PAGES = ["/ops/sub-processors", "/ops/sub-processors/objections", "/ops/records",
             "/ops/records.csv"]


@pytest.mark.parametrize("who", ["support", "owner", "anonymous"])
def test_registers_are_for_admin_and_privacy_operators(app, who):
    with app.app_context():
        entry_id = make_entry().id
    if who == "support":
        client = signed_in(app, "support@parvis.test", operator_role="support")
    elif who == "owner":
        client = signed_in(app, OWNER, slug="acme")
    else:
        client = app.test_client()
    expected = 302 if who == "anonymous" else 403
    for path in [*OPS_PAGES, f"/ops/sub-processors/{entry_id}"]:
        assert client.get(path).status_code == expected, path
    assert client.post("/ops/sub-processors", data=ENTRY).status_code in (expected, 401)
    assert client.post(f"/ops/sub-processors/{entry_id}/announce", data={
        "kind": "added", "effective_on": "2099-01-01", "objection_days": "30"}
    ).status_code in (expected, 401)
    with app.app_context():
        assert count(SubProcessor) == 1 and count(SubProcessorChange) == 0


@pytest.mark.parametrize("data", [
    {**ENTRY, "name": ""}, {**ENTRY, "safeguard": "moon"}, {**ENTRY, "location": "x" * 201},
    {"name": "\u202e" * 50}, {**ENTRY, "name": "   "},
])
def test_bad_sub_processor_input_is_refused_not_a_500(app, data):
    operator = signed_in(app, OPERATOR, operator_role="admin")
    assert operator.post("/ops/sub-processors", data=data).status_code == 422
    with app.app_context():
        assert count(SubProcessor) == 0


@pytest.mark.parametrize("data", [
    {"kind": "added", "effective_on": "2026-13-45", "objection_days": "30"},
    {"kind": "added", "effective_on": "2099-01-01", "objection_days": "abc"},
    {"kind": "added", "effective_on": "2099-01-01", "objection_days": "99999999999999999999"},
    {"kind": "nonsense", "effective_on": "2099-01-01", "objection_days": "30"},
    {"kind": "added", "effective_on": "", "objection_days": "30"},
    {"kind": "added", "effective_on": today().isoformat(), "objection_days": "30"},
    {"kind": "added", "effective_on": "2099-01-01", "objection_days": "30", "note_fr": "x" * 2001},
])
def test_bad_announcements_are_refused_with_the_form_again(app, english, data):
    with app.app_context():
        entry_id = make_entry().id
    operator = english(signed_in(app, OPERATOR, operator_role="privacy"))
    response = operator.post(f"/ops/sub-processors/{entry_id}/announce", data=data)
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    with app.app_context():
        assert count(SubProcessorChange) == 0


def test_operator_edits_an_entry_and_unknown_entries_are_404(app, english):
    with app.app_context():
        entry_id = make_entry().id
    operator = english(signed_in(app, OPERATOR, operator_role="admin"))
    page = operator.get(f"/ops/sub-processors/{entry_id}")
    assert page.status_code == 200 and "Draft" in page.get_data(as_text=True)
    saved = operator.post(f"/ops/sub-processors/{entry_id}",
                          data={**ENTRY, "location": "Ireland", "safeguard": "scc"})
    assert saved.status_code == 303
    with app.app_context():
        entry = db.session().get(SubProcessor, entry_id)
        assert (entry.location, entry.safeguard.value) == ("Ireland", "scc")
    assert operator.get("/ops/sub-processors/999999").status_code == 404
    assert operator.post("/ops/sub-processors/999999/announce", data={}).status_code == 404


def test_forms_need_their_csrf_token(app, make_app):
    with app.app_context():
        change_id = announce(make_entry()).id
        factories.member("acme", OWNER)
    protected = make_app(WTF_CSRF_ENABLED=True).test_client()
    # Sign-in is a form too: take its token from the page.
    page = protected.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert protected.post("/login", data={"email": OWNER, "password": factories.PASSWORD,
                                          "csrf_token": token}).status_code == 303
    assert protected.post(f"/organisations/acme/sub-processors/{change_id}/objection",
                          data={"reason": "no token"}).status_code == 400
    assert protected.post("/organisations/acme/dpa", data={
        "version": dpa.current().id, "confirm": "y"}).status_code == 400
    with app.app_context():
        assert count(Objection) == 0 and count(DpaAcceptance) == 0


@pytest.fixture
def owner_and_operator(app: Flask):  # type: ignore[no-untyped-def]
    """Signed-in clients, shared by every example of a Hypothesis test."""
    return (signed_in(app, OWNER, slug="acme"),
            signed_in(app, OPERATOR, operator_role="privacy"))


@settings(fuzz, max_examples=20)
@given(reason=odd_text, version=odd_text, days=odd_text, effective=odd_text)
def test_odd_text_in_processor_forms_never_fails(app, owner_and_operator, reason, version,
                                                 days, effective):
    owner, operator = owner_and_operator
    with app.app_context():
        for model in (Objection, SubProcessorChange, DpaAcceptance, SubProcessor):
            db.session().execute(delete(model))
        db.commit()
        change_id = announce(make_entry()).id
        entry_id = make_entry().id
    sent = [
        (owner.post(f"/organisations/acme/sub-processors/{change_id}/objection",
                    data={"reason": reason}), reason),
        (owner.post("/organisations/acme/dpa", data={"version": version, "confirm": "y"}),
         version),
        (operator.post(f"/ops/sub-processors/{entry_id}/announce", data={
            "kind": "added", "effective_on": effective, "objection_days": days,
            "note_fr": reason}), effective + days + reason),
        (operator.post("/ops/sub-processors", data={**ENTRY, "name": reason}), reason),
    ]
    for response, text in sent:
        # NUL characters are refused before any view (core.web.security).
        assert response.status_code == 400 if "\x00" in text else response.status_code < 500


# --- records of processing ------------------------------------------------------------------------


def test_controller_register_is_complete_in_both_languages(ctx):
    facts = retention_services.facts(db.session())
    for language in ("fr", "en"):
        rows = register.rows(language, facts)
        assert len(rows) == len(register.activities(facts)) >= 4
        assert all(cell.strip() for row in rows for cell in row)
    assert register.rows("fr", facts) != register.rows("en", facts)


def test_register_page_and_formula_safe_csv(app, english):
    operator = english(signed_in(app, OPERATOR, operator_role="privacy"))
    page = operator.get("/ops/records").get_data(as_text=True)
    assert "Subscriptions and billing" in page and "Security logs" in page
    response = operator.get("/ops/records.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "Processing activity" and rows[0][-1] == "Security measures"
    with app.app_context():
        assert rows[1:] == register.rows("en", retention_services.facts(db.session()))


@pytest.mark.parametrize("cell", ["=1+1", "+33 6", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_never_start_a_formula(cell):
    assert neutralise(cell) == "'" + cell
    assert next(csv.reader(io.StringIO(csv_line([cell, "plain"])))) == ["'" + cell, "plain"]


# --- other public pages ---------------------------------------------------------------------------


def test_legal_pages_in_both_languages(client, english):
    statement = client.get("/legal/accessibility")
    assert statement.status_code == 200
    assert "partiellement conforme" in statement.get_data(as_text=True)
    assert 'lang="fr"' in statement.get_data(as_text=True)
    assert "Accord de traitement" in client.get("/legal/dpa").get_data(as_text=True)
    english(client)
    assert "partially conformant" in client.get("/legal/accessibility").get_data(as_text=True)
    assert "axe-core" in client.get("/legal/accessibility").get_data(as_text=True)
    assert "Data Processing Agreement" in client.get("/legal/dpa").get_data(as_text=True)
    security = client.get("/.well-known/security.txt").get_data(as_text=True)
    assert security.startswith("Contact: ")


# --- per-tenant processor register (Art. 30(2)) ---------------------------------------------


def configure_acme() -> None:
    """Live configuration of acme: a custom field with a purpose and a US analytics service."""
    from tenants import api as tenants_api
    from tenants.consent import banner as consent_banner
    from tenants.fields import services as fields

    with tenants_api.tenant_context("acme", writer=True) as session:
        fields.create_field(session, "text", label={"fr": "=Société", "en": "=<i>Company</i>"},
                            purpose={"fr": "Facturer", "en": "Invoicing"}, required=True)
        consent_banner.save_service(session, None, name="StatsCo", provider="=Stats Inc.",
                                    purpose="audience", cookies=[], location="United States",
                                    load_kind="none", load_url=None)


def test_tenant_register_follows_live_configuration(app, english):
    with app.app_context():
        configure_acme()
        factories.member("acme", OWNER)
        make_entry(listed_from=today())
        scc = make_entry(listed_from=today())
        scc.name, scc.safeguard = "Far Away Ltd", "scc"
        db.commit()
    owner = english(app.test_client())
    factories.login(owner, OWNER)
    page = owner.get("/organisations/acme/processor-register").get_data(as_text=True)
    assert "Custom field: =&lt;i&gt;Company&lt;/i&gt;" in page and "Invoicing" in page
    assert "StatsCo" in page and "United States" in page
    assert "Far Away Ltd" in page and "Standard contractual clauses" in page
    assert "Mailgun" in page
    assert "12 months after the event ends" in page  # the retention matrix's default
    with app.test_request_context(), tenants_api.tenant_context("acme") as session:
        retention.set_rule(session, "registrations", 6, "delete")
    page = owner.get("/organisations/acme/processor-register").get_data(as_text=True)
    assert "6 months after the event ends" in page and "12 months after the event" not in page
    response = owner.get("/organisations/acme/processor-register.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["Section", "Item", "Details", "Retention or location"]
    # The provider's name starts the details cell: a formula, neutralised.
    assert ["Third-party services of the organisation", "StatsCo",
            "'=Stats Inc. — Audience measurement", "United States"] in rows
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    # Globex's register knows nothing of acme's configuration.
    with app.app_context():
        factories.member("globex", GLOBEX_OWNER)
    other = app.test_client()
    factories.login(other, GLOBEX_OWNER)
    assert "StatsCo" not in other.get("/organisations/globex/processor-register").get_data(
        as_text=True)
    assert other.get("/organisations/acme/processor-register").status_code == 403
    assert other.get("/organisations/acme/processor-register.csv").status_code == 403


@pytest.mark.parametrize(("who", "expected"), [
    ("admin", 200), ("manager", 403), ("viewer", 403), ("support", 403), ("privacy", 200)])
def test_tenant_register_roles(app, who, expected):
    if who in ("support", "privacy"):
        client = signed_in(app, f"{who}@parvis.test", operator_role=who)
        paths = ["/ops/processor-registers/acme", "/ops/processor-registers/acme.csv"]
        member_paths = ["/organisations/acme/processor-register"]
    else:
        client = signed_in(app, f"{who}@acme.test", slug="acme", role=who)
        paths = ["/organisations/acme/processor-register",
                 "/organisations/acme/processor-register.csv"]
        member_paths = ["/ops/processor-registers/acme"]
    for path in paths:
        assert client.get(path).status_code == expected, path
    for path in member_paths:  # the other side's page
        assert client.get(path).status_code == 403, path
    if expected == 200 and who == "privacy":
        assert client.get("/ops/processor-registers/nope").status_code == 404


def test_owners_informed_are_active_owners_of_tenants_whose_data_parvis_holds(ctx):
    from webapp.organisations.models import Tenant, TenantStatus

    acme_owner = factories.member("acme", OWNER)
    factories.member("globex", OWNER)
    gone = factories.member("globex", "gone@globex.test")
    factories.member("acme", "admin@acme.test", "admin")
    gone.is_active = False
    db.commit()
    informed = services.owners_to_inform(db.session())
    assert {k: [t.slug for t in v] for k, v in informed.items()} == {
        acme_owner.id: ["acme", "globex"]}
    db.session().scalars(select(Tenant).where(Tenant.slug == "globex")).one().status = (
        TenantStatus.ENDED)
    db.commit()
    assert [t.slug for t in services.owners_to_inform(db.session(), acme_owner.id)[
        acme_owner.id]] == ["acme"]
