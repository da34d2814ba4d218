"""The instructions log: each privacy-relevant setting changed in the tenant's own pages is
recorded with who and when; refused changes and unchanged settings record nothing."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from tenants import api as tenants_api
from tenants.consent import banner as consent_banner
from tenants.consent import cache as consent_cache
from tenants.consent import catalogue as consent_catalogue
from tenants.consent.views import rate_limit
from tenants.instructions import services as instructions
from tenants.instructions.models import Instruction
from tests.fixtures.people import sign_in_member

MODES = {"first_name": "optional", "last_name": "required", "mobile_phone": "off",
         "city": "required", "postal_code": "off", "job_function": "off"}
FIELD = {"label-fr": "Entreprise", "label-en": "Company", "help-fr": "", "help-en": "",
         "purpose-fr": "Organiser les groupes", "purpose-en": "Organise groups",
         "condition": ""}
RATINGS = {"ratings_raters": "confirmed", "ratings_window_days": "14",
           "ratings_edit_days": "0", "ratings_autopublish_stars": "y",
           "ratings_visibility": "participants", "ratings_order": "highest"}
SERVICE = {"name": "Matomo", "provider": "InnoCraft", "purpose": "audience",
           "cookies": "_pk_id | 13 months", "location": "France", "load_kind": "script",
           "load_url": "https://stats.example.org/m.js"}


@pytest.fixture(autouse=True)
def _fresh():  # type: ignore[no-untyped-def]
    rate_limit.hits.clear()
    yield
    consent_cache.configs.forget()


def logged() -> list[tuple[str, str, int | None]]:
    with tenants_api.tenant_context("acme") as session:
        return [(i.area, i.summary, i.member_id) for i in session.scalars(
            select(Instruction).order_by(Instruction.id))]


def member_id(app, email: str) -> int:  # type: ignore[no-untyped-def]
    from webapp import db
    from webapp.auth.models import Account

    with app.app_context():
        return db.session().scalar(select(Account.id).where(Account.email == email))


def test_registration_form_changes_are_instructions(app):
    admin = sign_in_member(app.test_client(), "acme", "admin", in_english=True)
    me = member_id(app, "admin@acme.test")
    assert admin.post("/t/acme/admin/form", data=MODES).status_code == 303
    assert admin.post("/t/acme/admin/form", data=MODES).status_code == 303  # unchanged
    assert admin.post("/t/acme/admin/form", data={**MODES, "city": "sometimes"}).status_code == 422
    assert admin.post("/t/acme/admin/form/fields/new?type=text", data=FIELD).status_code == 303
    assert admin.post("/t/acme/admin/form/fields/new?type=text",
                      data={**FIELD, "label-fr": " ", "label-en": ""}).status_code == 422
    with tenants_api.tenant_context("acme") as session:
        from tenants.fields import services as fields

        field_id = fields.active_fields(session)[0].id
    assert admin.post(f"/t/acme/admin/form/fields/{field_id}/edit",
                      data={**FIELD, "label-en": "Employer"}).status_code == 303
    assert admin.post(f"/t/acme/admin/form/fields/{field_id}/archive",
                      data={"confirm": "yes"}).status_code == 303
    assert logged() == [
        ("fields", "Changed the standard fields: First name (Optional), Last name (Required), "
                   "Mobile phone (Not asked), City (Required), Postal code (Not asked), "
                   "Job function (Not asked)", me),
        ("fields", "Added the field \u201cCompany\u201d (Short text, optional); purpose: "
                   "Organise groups", me),
        ("fields", "Changed the field \u201cEmployer\u201d (Short text, optional); purpose: "
                   "Organise groups", me),
        ("fields", "Removed the field \u201cEmployer\u201d", me)]


def test_visibility_and_ratings_settings_are_instructions(app):
    admin = sign_in_member(app.test_client(), "acme", "admin", in_english=True)
    me = member_id(app, "admin@acme.test")
    settings = {"default_language": "fr", "languages": "fr", "max_visibility": "participants"}
    assert admin.post("/t/acme/admin/settings", data=settings).status_code == 303
    assert logged() == []  # the visibility did not change
    assert admin.post("/t/acme/admin/settings",
                      data={**settings, "max_visibility": "nobody"}).status_code == 303
    assert admin.post("/t/acme/admin/settings/ratings", data=RATINGS).status_code == 303
    assert admin.post("/t/acme/admin/settings/ratings", data=RATINGS).status_code == 303
    assert admin.post("/t/acme/admin/settings/ratings",
                      data={**RATINGS, "ratings_window_days": "999"}).status_code == 422
    assert logged() == [
        ("visibility", "Set who may see participants in participant lists, at most: Nobody: "
                       "participant lists are not shown", me),
        ("ratings", "Changed the ratings policy: Who may rate an event, once it has ended: "
                    "Participants whose registration was confirmed (no attendance tracking); "
                    "Days after the end of an event during which it may be rated: 14; Days "
                    "after posting during which a rating may be changed: 0; Hold reviews with a "
                    "comment until a moderator publishes them: no; Who sees the ratings and "
                    "reviews: Signed-in participants of the organisation; Default order of the "
                    "reviews: Highest rated first", me)]
    viewer = sign_in_member(app.test_client(), "acme", "viewer", in_english=True)
    assert viewer.post("/t/acme/admin/settings/ratings", data=RATINGS).status_code == 403
    assert len(logged()) == 2


def test_cookie_banner_and_service_changes_are_instructions(app):
    admin = sign_in_member(app.test_client(), "acme", "admin", in_english=True)
    me = member_id(app, "admin@acme.test")
    assert admin.post("/t/acme/admin/consent", data={
        "title-fr": "", "title-en": "", "body-fr": "", "body-en": "",
        "lifetime_months": "6", "retention_years": "5"}).status_code == 303
    assert admin.post("/t/acme/admin/consent/services/new", data=SERVICE).status_code == 303
    with tenants_api.tenant_context("acme") as session:
        service_id = consent_banner.list_services(session)[0].id
    assert admin.post(f"/t/acme/admin/consent/services/{service_id}/edit",
                      data={**SERVICE, "location": "Germany"}).status_code == 303
    assert admin.post(f"/t/acme/admin/consent/services/{service_id}/edit",
                      data={**SERVICE, "load_url": "http://x"}).status_code == 422
    assert admin.post(f"/t/acme/admin/consent/services/{service_id}/delete").status_code == 303
    assert logged() == [
        ("consent", "Changed the cookie banner: consent lasts 6 months, proofs kept 5 years, "
                    "choices tied to accounts: no", me),
        ("services", "Added the service Matomo (InnoCraft, France)", me),
        ("services", "Changed the service Matomo (InnoCraft, Germany)", me),
        ("services", "Removed the service Matomo (InnoCraft)", me)]


def test_catalogue_services_are_not_edited_from_the_consent_page(app):
    with (app.test_request_context(), force_locale("en"),
          tenants_api.tenant_context("acme") as session):
        made = consent_catalogue.enable_catalogue(session, {
            "id": 7, "version": 1, "name": "Vimeo", "provider": "Vimeo.com, Inc.",
            "purpose": "embedded", "cookies": [], "location": "United States",
            "load_kind": "embed", "load_url": "https://player.vimeo.com", "safeguard": "scc"},
            None)
        service_id = made.id
    admin = sign_in_member(app.test_client(), "acme", "admin", in_english=True)
    page = admin.get("/t/acme/admin/consent").text
    assert "Blocked until the owner authorises the transfer" in page
    assert admin.get(f"/t/acme/admin/consent/services/{service_id}/edit").status_code == 404
    assert admin.post(f"/t/acme/admin/consent/services/{service_id}/delete").status_code == 404
    with tenants_api.tenant_context("acme") as session:
        assert consent_banner.list_services(session, active=True) == []
        assert [s.name for s in consent_banner.list_services(session)] == ["Vimeo"]
    assert logged() == [("services", "Enabled Vimeo (Vimeo.com, Inc.); blocked until the owner "
                                      "authorises the transfer to United States", None)]


def test_unknown_areas_are_refused(app):
    with (app.app_context(), tenants_api.tenant_context("acme") as session,
          pytest.raises(ValueError, match="unknown instruction area")):
        instructions.record(session, "weather", "Sunny")
    assert logged() == []
