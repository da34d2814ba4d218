"""Withdrawing the news opt-in is recorded in the consent ledger (PRODUCT.md, "Cookie consent":
registration consents use the same ledger; "Data-subject rights": withdrawal of consent), and
the processing register and the participant's privacy page say so."""

from __future__ import annotations

import json

from flask_babel import force_locale
from sqlalchemy import select, update

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.consent import ledger as consent_ledger
from tenants.consent.models import ConsentEntry
from tenants.participants.models import Participant
from tests import factories
from tests.fixtures.people import english, sign_in_member, sign_in_participant
from tests.tenants.account_helpers import signup_data
from tests.tenants.registration_helpers import person
from webapp.registers import tenant as register


def proofs(participant_id: int) -> list[ConsentEntry]:
    with tenants_api.tenant_context("acme") as db:
        return list(db.scalars(select(ConsentEntry).where(
            ConsentEntry.participant_id == participant_id).order_by(ConsentEntry.id)))


def test_withdrawing_the_news_opt_in_is_a_new_proof_chained_to_the_opt_in(app, client):
    english(client)
    assert client.post("/t/acme/signup", data=signup_data(
        "news@example.org", marketing="y")).status_code == 303
    with tenants_api.tenant_context("acme") as db:
        me = db.scalar(select(Participant.id).where(Participant.email == "news@example.org"))
        db.execute(update(Participant).where(Participant.id == me)
                   .values(email_confirmed_at=utcnow()))
    [given] = proofs(me)
    assert given.kind == "registration" and given.choices["marketing"] is True
    assert "change" not in given.choices

    sign_in_participant(client, "acme", me)
    assert client.post("/t/acme/me/privacy/marketing",
                       data={"marketing": "no"}).status_code == 303
    first, withdrawal = proofs(me)
    assert first.consent_id == given.consent_id and first.replaced_at is not None
    assert withdrawal.replaced_at is None and withdrawal.chain_id == first.chain_id
    assert withdrawal.choices == {"privacy": given.choices["privacy"], "terms": "",
                                  "marketing": False, "change": "marketing_withdrawn"}
    with tenants_api.tenant_context("acme") as db:
        assert consent_ledger.marketing(db, me) is False

    # Withdrawing again changes nothing: the ledger already says so.
    assert client.post("/t/acme/me/privacy/marketing",
                       data={"marketing": "no"}).status_code == 303
    assert len(proofs(me)) == 2
    # Given again: a third proof on the same chain.
    assert client.post("/t/acme/me/privacy/marketing",
                       data={"marketing": "yes"}).status_code == 303
    third = proofs(me)[-1]
    assert third.chain_id == first.chain_id and third.choices["change"] == "marketing_given"

    # The participant's export carries the proofs; staff see the withdrawal in words.
    exported = json.loads(client.get("/t/acme/me/privacy/my-data.json").text)
    assert [e["choices"].get("change") for e in exported["consent_history"]] == [
        None, "marketing_withdrawn", "marketing_given"]
    staff = sign_in_member(english(app.test_client()), "acme", "admin", in_english=True)
    page = staff.get("/t/acme/admin/consent/ledger",
                     query_string={"consent_id": withdrawal.consent_id}).get_data(as_text=True)
    assert page.count("news opt-in withdrawn") == 1 and page.count("news opt-in given") == 1


def test_the_register_and_the_privacy_page_say_withdrawals_are_recorded(app, client):
    factories.custom_field("acme")
    with app.test_request_context("/"), force_locale("en"):
        lines = register.build(register.snapshot("acme", []), "en")
    [line] = [line for line in lines if line.item == "Registration consents and news opt-in"]
    assert "a withdrawal of the opt-in included" in line.details
    assert "consent ledger" in line.details and "5 years" in line.where_or_how_long
    # Answers: on the clock of the registration they were given for (their own setting).
    [answers] = [line for line in lines if line.item == "Custom field: Company"]
    assert answers.where_or_how_long == ("12 months after the end of the event of the "
                                         "registration the answer was given for")

    me = person("acme", "ann@example.org")
    sign_in_participant(english(client), "acme", me)
    page = client.get("/t/acme/me/privacy").get_data(as_text=True)
    assert "withdrawing your consent to the organisation&#39;s news included" in page
