"""The participant's privacy page: their data and its downloads, restriction (really enforced:
no e-mails, in no list or export), objection, marketing, directives, deleting the account."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.consent.models import ConsentEntry
from tenants.fields.models import Answer
from tenants.participants.models import Participant
from tenants.registration.models import Registration
from tenants.rights.models import PrivacyChoices, RightsRequest
from tests import factories
from tests.fixtures.people import english, sign_in_member, sign_in_participant
from tests.tenants.account_helpers import max_visibility
from tests.tenants.registration_helpers import person


def participant_client(app, email: str = "zoe@example.org", **fields: str):  # type: ignore[no-untyped-def]
    pid = person("acme", email, **fields)
    return pid, sign_in_participant(english(app.test_client()), "acme", pid)


def requests_of(email: str) -> list[tuple[str, str, str]]:
    with tenants_api.tenant_context("acme") as session:
        return [(r.kind, r.source, r.status) for r in session.scalars(
            select(RightsRequest).where(RightsRequest.email == email)
            .order_by(RightsRequest.id))]


def test_signed_out_visitors_are_sent_to_sign_in(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/t/acme/me/privacy")
    assert response.status_code == 303 and "/t/acme/login" in response.headers["Location"]
    assert client.get("/t/acme/me/privacy/my-data.json").status_code == 303


def test_the_page_shows_everything_and_both_downloads_hold_it(app) -> None:  # type: ignore[no-untyped-def]
    pid, client = participant_client(app, first_name="=HYPERLINK(\"http://evil\")",
                                     city="Lyon")
    field_id = factories.custom_field("acme")
    with tenants_api.tenant_context("acme") as session:
        session.add(Answer(participant_id=pid, field_id=field_id, value="-2+3 <b>Acme</b>"))
        session.add(ConsentEntry(consent_id="c" * 43, chain_id="c" * 43, kind="registration",
                                 choices={"privacy": "v1", "terms": "", "marketing": True},
                                 version=0, texts_hash="0" * 64, participant_id=pid,
                                 created_at=utcnow()))
    event_id = factories.event("acme")
    factories.registration("acme", event_id, pid)

    page = client.get("/t/acme/me/privacy")
    assert page.status_code == 200
    assert "Lyon" in page.text and "Workshop" in page.text and "Company" in page.text
    assert "&lt;b&gt;Acme&lt;/b&gt;" in page.text and "<b>Acme" not in page.text
    assert "https://www.cnil.fr/fr/plaintes" in page.text
    assert "Inactive accounts" in page.text or "sign-in" in page.text  # the schedule

    exported = client.get("/t/acme/me/privacy/my-data.json")
    assert exported.status_code == 200 and "attachment" in exported.headers[
        "Content-Disposition"]
    data = json.loads(exported.text)
    assert data["profile"]["city"] == "Lyon"
    assert data["answers"] == [{"field": "Company", "value": "-2+3 <b>Acme</b>"}]
    assert data["registrations"][0]["event"] == "Workshop"
    assert data["consent_history"][0]["choices"]["marketing"] is True

    sheet = client.get("/t/acme/me/privacy/my-data.csv")
    assert sheet.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(sheet.text.lstrip("\ufeff"))))
    assert rows[0] == ["section", "row", "field", "value"]
    cells = {(r[0], r[2]): r[3] for r in rows[1:]}
    assert cells[("profile", "first_name")] == "'=HYPERLINK(\"http://evil\")"
    assert cells[("answers", "value")] == "'-2+3 <b>Acme</b>"
    assert cells[("consent_history", "choices.marketing")] == "true"
    # Both downloads are in the tenant's record of requests, answered at once.
    assert requests_of("zoe@example.org") == [("access", "self-service", "completed"),
                                              ("portability", "self-service", "completed")]


def test_restriction_stops_emails_lists_and_exports_until_lifted(app, outbox) -> None:  # type: ignore[no-untyped-def]
    max_visibility("acme", "public")
    pid, client = participant_client(app, first_name="Zoé", last_name="Lambert")
    with tenants_api.tenant_context("acme") as session:
        session.get(Participant, pid).visibility = "public"
    event_id = factories.event("acme")
    assert "Zoé L." in app.test_client().get("/t/acme/people").text

    done = client.post("/t/acme/me/privacy/restriction", data={"restrict": "1"})
    assert done.status_code == 303
    page = client.get("/t/acme/me/privacy")
    assert "Processing of your data is restricted" in page.text  # the banner
    assert "Lift the restriction" in page.text
    assert "restricted" in client.get("/t/acme/me").text  # on every account page

    # Registering still works (storage), but no e-mail goes out: not even the join link.
    assert client.post(f"/t/acme/events/{event_id}/register").status_code in (200, 303)
    with tenants_api.tenant_context("acme") as session:
        assert session.get(Participant, pid) is not None
    assert [m for m in outbox.messages if m["To"] == "zoe@example.org"] == []
    assert "Zoé" not in app.test_client().get("/t/acme/people").text
    manager = sign_in_member(app.test_client(), "acme", "manager", in_english=True)
    export = manager.get(f"/t/acme/admin/events/{event_id}/registrations.csv").text
    assert "zoe@example.org" not in export
    # The staff's roster keeps the registration (storage) and says not to contact her.
    roster = manager.get(f"/t/acme/admin/events/{event_id}/registrations").text
    assert "Lambert" in roster and "Processing restricted: keep, do not contact" in roster

    assert client.post("/t/acme/me/privacy/restriction", data={"restrict": "0"}).status_code \
        == 303
    with tenants_api.tenant_context("acme") as session:
        registration = session.scalar(select(Registration.id).where(
            Registration.participant_id == pid))
    client.post(f"/t/acme/me/registrations/{registration}/join-link")
    outbox.wait_for(lambda m: m["To"] == "zoe@example.org")  # e-mails flow again
    assert "Zoé L." in app.test_client().get("/t/acme/people").text
    assert "zoe@example.org" in manager.get(
        f"/t/acme/admin/events/{event_id}/registrations.csv").text
    assert "Processing restricted" not in manager.get(
        f"/t/acme/admin/events/{event_id}/registrations").text
    assert requests_of("zoe@example.org") == [("restriction", "self-service", "completed")] * 2


def test_restriction_refuses_a_post_without_csrf(app) -> None:  # type: ignore[no-untyped-def]
    pid, _client = participant_client(app)
    guarded = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        sign_in_participant(guarded, "acme", pid)
        assert guarded.post("/t/acme/me/privacy/restriction",
                            data={"restrict": "1"}).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    with tenants_api.tenant_context("acme") as session:
        assert session.get(PrivacyChoices, pid) is None


def test_objection_restricts_at_once_and_opens_a_request(app) -> None:  # type: ignore[no-untyped-def]
    pid, client = participant_client(app)
    empty = client.post("/t/acme/me/privacy/objection", data={"reason": " "})
    assert empty.status_code == 422 and "Tell us why you object." in empty.text
    assert requests_of("zoe@example.org") == []
    assert client.post("/t/acme/me/privacy/objection",
                       data={"reason": "No profiling"}).status_code == 303
    assert requests_of("zoe@example.org") == [("objection", "self-service", "open")]
    assert "is being examined" in client.get("/t/acme/me/privacy").text
    with tenants_api.tenant_context("acme") as session:
        from tenants.rights.models import is_restricted

        assert is_restricted(session, pid)


def test_marketing_choice_is_a_new_proof_in_the_ledger(app) -> None:  # type: ignore[no-untyped-def]
    pid, client = participant_client(app)
    assert client.post("/t/acme/me/privacy/marketing", data={}).status_code == 422
    assert client.post("/t/acme/me/privacy/marketing",
                       data={"marketing": "yes"}).status_code == 303
    assert client.post("/t/acme/me/privacy/marketing",
                       data={"marketing": "no"}).status_code == 303
    with tenants_api.tenant_context("acme") as session:
        ledger = [(e.choices["marketing"], e.replaced_at is None) for e in session.scalars(
            select(ConsentEntry).where(ConsentEntry.participant_id == pid)
            .order_by(ConsentEntry.id))]
    assert ledger == [(True, False), (False, True)]
    assert requests_of("zoe@example.org") == [("objection", "self-service", "completed")]


def test_directive_to_hand_over_needs_a_person(app) -> None:  # type: ignore[no-untyped-def]
    pid, client = participant_client(app)
    refused = client.post("/t/acme/me/privacy/directive", data={"directive": "hand_over",
                                                                 "name": "Léa"})
    assert refused.status_code == 422 and "Give the e-mail address of the person." in refused.text
    forged = client.post("/t/acme/me/privacy/directive", data={"directive": "sell"})
    assert forged.status_code == 422
    with tenants_api.tenant_context("acme") as session:
        assert session.get(PrivacyChoices, pid) is None
    assert client.post("/t/acme/me/privacy/directive", data={
        "directive": "hand_over", "name": "Léa Martin",
        "email": "Lea@Example.org"}).status_code == 303
    with tenants_api.tenant_context("acme") as session:
        row = session.get(PrivacyChoices, pid)
        assert (row.directive, row.directive_name, row.directive_email) == (
            "hand_over", "Léa Martin", "lea@example.org")
    exported = json.loads(client.get("/t/acme/me/privacy/my-data.json").text)
    assert exported["privacy_choices"]["directive_recipient"] == "Léa Martin <lea@example.org>"
    # The staff who learn of the death find the directive on the participant's record.
    record = sign_in_member(app.test_client(), "acme", "manager", in_english=True).get(
        f"/t/acme/admin/participants/{pid}")
    assert "Hand my data over to a person I name: Léa Martin &lt;lea@example.org&gt;" in \
        record.text


def test_deleting_the_account_deactivates_it_and_signs_out(app) -> None:  # type: ignore[no-untyped-def]
    pid, client = participant_client(app)
    unticked = client.post("/t/acme/me/privacy/delete", data={})
    assert unticked.status_code == 422 and "Tick the box to confirm." in unticked.text
    done = client.post("/t/acme/me/privacy/delete", data={"confirm": "y"})
    assert done.status_code == 200 and "Your account is deleted" in done.text
    with tenants_api.tenant_context("acme") as session:
        assert session.get(Participant, pid).deactivation_reason == "deleted"
    assert client.get("/t/acme/me/privacy").status_code == 303  # signed out
    assert requests_of("zoe@example.org") == [("erasure", "self-service", "completed")]


def test_a_read_only_space_still_lets_participants_exercise_their_rights(app) -> None:  # type: ignore[no-untyped-def]
    """Billing made the space read-only: rights still work, every other write is refused."""
    pid, client = participant_client(app)
    with app.app_context():
        from webapp import db
        from webapp.organisations.models import Tenant, TenantStatus
        db.session().query(Tenant).filter_by(slug="acme").one().status = TenantStatus.READ_ONLY
        db.commit()
    assert client.post("/t/acme/me/privacy/restriction",
                       data={"restrict": "1"}).status_code == 303
    assert client.post("/t/acme/me/privacy/directive",
                       data={"directive": "erase"}).status_code == 303
    visitor = english(app.test_client())
    asked = visitor.post("/t/acme/rights/request",
                         data={"kind": "access", "email": "someone@example.org"})
    assert asked.status_code in (200, 303)
    assert client.post("/t/acme/me/privacy/delete", data={"confirm": "y"}).status_code == 200
    with tenants_api.tenant_context("acme") as session:
        assert session.get(Participant, pid).deactivation_reason == "deleted"
    event_id = factories.event("acme")
    assert english(app.test_client()).post(
        f"/t/acme/events/{event_id}/signup", data={}).status_code == 403
