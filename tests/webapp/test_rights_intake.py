"""Rights requests sent to Parvis (PRODUCT.md, "Data-subject rights": the platform forwards
requests it receives to the right tenant(s), never answers in their place).

Pinned here: forwarded to exactly the tenants with an account at the address (suspended ones
included, ended ones not), each copy's legal clock at the platform's receipt however late the
forwarding runs, the forwarding logged without the address or message, and the same pages, the
same e-mail and the same SQL on the request path for an address known nowhere; the code is
throttled like the tenants' form.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from babel.dates import format_date
from sqlalchemy import select

from core import email_codes
from core.clock import utcnow
from core.jobs import enqueue
from tenants import api as tenants_api
from tenants.rights import services as tenant_rights
from tenants.rights.models import RequestStep, RightsRequest
from tests import factories
from tests.fixtures.people import english, sign_in_member, sign_in_operator
from tests.mail_sink import SMTPSink
from webapp import db
from webapp.organisations import services as org_services
from webapp.organisations.models import Tenant, TenantStatus
from webapp.rights_intake import services, tasks
from webapp.rights_intake.models import PlatformRightsRequest, RightsForwarding

KNOWN = "sam@example.org"
UNKNOWN = "nobody@example.org"


def code_in(outbox: SMTPSink, email: str) -> str:
    message = [m for m in outbox.messages if m["To"] == email][-1]
    found = re.search(r"\b(\d{6})\b", SMTPSink.text(message))
    assert found is not None
    return found.group(1)


def ask(client, email: str, kind: str = "access") -> str:  # type: ignore[no-untyped-def]
    """Send the platform's form; the path of the page where the code is entered."""
    sent = client.post("/rights/request", data={"kind": kind, "email": email,
                                                 "details": "Everything please"})
    assert sent.status_code == 303, sent.text
    return sent.headers["Location"]


def forwarded(slug: str) -> list[RightsRequest]:
    with tenants_api.tenant_context(slug) as session:
        rows = list(session.scalars(select(RightsRequest).where(
            RightsRequest.source == "platform")))
        session.expunge_all()
        return rows


def platform_row(path: str) -> PlatformRightsRequest:
    token = path.rsplit("/", 1)[1]
    row = services.by_token(db.session(), token)
    assert row is not None
    return row


def tenant_id(slug: str) -> int:
    found = db.session().scalar(select(Tenant.id).where(Tenant.slug == slug))
    assert found is not None
    return found


def test_forwarded_to_exactly_the_tenants_that_know_the_address_clock_at_receipt(
        app, client, outbox, clock) -> None:  # type: ignore[no-untyped-def]
    english(client)
    with app.app_context():
        session = db.session()
        factories.participant("acme", KNOWN)
        # Suspended by an operator: its data is held, the request waits in its inbox.
        org_services.set_status(session, factories.tenant("initech"), TenantStatus.SUSPENDED)
        factories.participant("initech", KNOWN.upper())  # addresses compare without case
        # Ended: past the contract, its data is returned and destroyed as a whole.
        org_services.set_status(session, factories.tenant("hooli"), TenantStatus.ENDED)
        factories.participant("hooli", KNOWN)
        factories.participant("globex", "someone.else@example.org")
        db.commit()
    jobs: list[tuple] = []
    with pytest.MonkeyPatch.context() as patch:  # the forwarding job runs later, by hand
        patch.setattr("webapp.rights_intake.views.enqueue",
                      lambda job, *args: jobs.append((job, args)) if job is tasks.forward
                      else enqueue(job, *args))
        page = ask(client, KNOWN, "erasure")
        clock.advance(minutes=3)
        done = client.post(page, data={"code": code_in(outbox, KNOWN)})
    assert done.status_code == 200 and "Your request is received" in done.text
    assert [job for job, _ in jobs] == [tasks.forward]
    with app.app_context():
        received = platform_row(page).received_at
        assert received is not None and platform_row(page).email == KNOWN
    # The worker was late: the legal clock still runs from the receipt.
    clock.advance(days=40)
    assert tasks.forward(*jobs[0][1]) == 2

    due = tenant_rights.add_months(received.date(), 1)
    for slug in ("acme", "initech"):
        [request] = forwarded(slug)
        assert (request.kind, request.status, request.email) == ("erasure", "open", KNOWN)
        assert request.received_at == received and request.due_on == due
        assert request.participant_id is not None and request.details == "Everything please"
        assert request.language == "en"
    assert forwarded("globex") == [] and forwarded("hooli") == []
    with app.app_context():
        row = platform_row(page)
        assert (row.status, row.email, row.details) == ("forwarded", "", "")
        log = services.forwardings(db.session(), row)
        assert {(f.tenant_id, f.tenant_request_id) for f in log} == {
            (tenant_id("acme"), forwarded("acme")[0].id),
            (tenant_id("initech"), forwarded("initech")[0].id)}
        # Run again (a retried job): nothing forwarded twice.
        assert tasks.forward(row.id) == 0
        assert tenants_api.forward_rights_request(
            "acme", email=KNOWN, kind="erasure", details="", language="en",
            received_at=received, platform_id=row.id) == forwarded("acme")[0].id
    assert len(forwarded("acme")) == 1

    # The tenant's inbox shows it, with its due date, marked as forwarded.
    staff = sign_in_member(app.test_client(), "acme", "admin", in_english=True)
    inbox = staff.get("/t/acme/admin/rights")
    assert KNOWN in inbox.text and "forwarded by Parvis" in inbox.text
    assert format_date(due, format="medium", locale="en") in inbox.text
    detail = staff.get(f"/t/acme/admin/rights/{forwarded('acme')[0].id}")
    assert "received by Parvis and forwarded here" in detail.text
    assert f"Parvis #{row.id}" in detail.text


def test_an_open_request_for_the_same_right_is_not_doubled(app, ctx) -> None:  # type: ignore[no-untyped-def]
    factories.participant("acme", KNOWN)
    with tenants_api.tenant_context("acme") as session:
        request, code = tenant_rights.submit(session, kind="access", email=KNOWN, details="",
                                             language="fr")
        assert tenant_rights.verify(session, request, code).outcome == "verified"
    first = tenants_api.forward_rights_request(
        "acme", email=KNOWN, kind="access", details="", language="fr",
        received_at=utcnow(), platform_id=7)
    with tenants_api.tenant_context("acme") as session:
        assert first == request.id
        assert session.scalars(select(RequestStep.action).where(
            RequestStep.request_id == first)).all() == ["submitted", "verified", "duplicate"]
    assert tenants_api.forward_rights_request(
        "acme", email=KNOWN, kind="access", details="", language="fr",
        received_at=utcnow(), platform_id=7) == first  # the same forwarding again
    assert tenants_api.forward_rights_request(
        "acme", email=UNKNOWN, kind="access", details="", language="fr",
        received_at=utcnow(), platform_id=8) is None


def _same(text: str, *secrets: str) -> str:
    """A page or e-mail with what must differ (the page's token, the code, the address) and
    the CSRF tokens taken out."""
    for secret in secrets:
        text = text.replace(secret, "…")
    return factories.without_csrf_tokens(text)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_an_address_known_nowhere_gets_the_same_answer(
        app, client, outbox, statements, language) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        factories.participant("acme", KNOWN)
        factories.participant("globex", KNOWN)
    with client.session_transaction() as cookie:
        cookie["lang"] = language
    seen: dict[str, dict] = {}
    jobs: list[int] = []
    for email in (KNOWN, UNKNOWN):
        outbox.clear()
        with pytest.MonkeyPatch.context() as patch:  # the worker runs the forwarding later
            patch.setattr("webapp.rights_intake.views.enqueue",
                          lambda job, *args: jobs.append(args[0]) if job is tasks.forward
                          else enqueue(job, *args))
            with statements:
                sent = client.post("/rights/request", data={"kind": "objection", "email": email})
            submit_sql = statements.count
            page = sent.headers["Location"]
            token = page.rsplit("/", 1)[1]
            message = outbox.wait_for(lambda m, email=email: m["To"] == email)
            code = code_in(outbox, email)
            shown = client.get(page)
            with statements:
                answer = client.post(page, data={"code": code})
            seen[email] = {
                "statuses": (sent.status_code, shown.status_code, answer.status_code),
                "sql": (submit_sql, statements.count),
                "subject": _same(message["Subject"], code),
                "mail": _same(SMTPSink.text(message), token, code),
                "shown": _same(shown.text, token), "answer": _same(answer.text, token),
            }
    known, unknown = seen[KNOWN], seen[UNKNOWN]
    assert known["statuses"] == (303, 200, 200)
    assert known == unknown
    received = {"fr": "Votre demande est reçue", "en": "Your request is received"}[language]
    assert received in known["answer"]
    # Then the job, away from the request: it forwards the known address only.
    with app.app_context():
        assert [tasks.forward(request_id) for request_id in jobs] == [2, 0]
        rows = [db.session().get(PlatformRightsRequest, i) for i in jobs]
        assert [r.email for r in rows] == ["", ""]
        assert [len(services.forwardings(db.session(), r)) for r in rows] == [2, 0]
    assert len(forwarded("acme")) == len(forwarded("globex")) == 1


def test_the_code_is_throttled_like_the_tenant_form(client, outbox, clock) -> None:  # type: ignore[no-untyped-def]
    english(client)
    page = ask(client, UNKNOWN)
    first = code_in(outbox, UNKNOWN)
    assert ask(client, UNKNOWN) == page  # the same request; no new code within a minute
    assert len([m for m in outbox.messages if m["To"] == UNKNOWN]) == 1
    clock.advance(seconds=61)
    assert ask(client, UNKNOWN) == page
    outbox.wait_for(lambda m: m["To"] == UNKNOWN and first not in SMTPSink.text(m))
    second = code_in(outbox, UNKNOWN)
    forged = f"{(int(second) + 1) % 10**6:06d}"
    assert client.post(page, data={"code": "12ab"}).status_code == 422
    for left in (4, 3, 2, 1):
        wrong = client.post(page, data={"code": forged})
        assert wrong.status_code == 422 and f"Attempts left: {left}." in wrong.text
    assert client.post(page, data={"code": forged}).status_code == 410
    late = client.post(page, data={"code": second})  # too late, even with the right code
    assert late.status_code == 410 and "can no longer be used" in late.text

    # A code lives 30 minutes; the page of a verified request shows nothing any more.
    other = ask(client, KNOWN)
    code = code_in(outbox, KNOWN)
    clock.advance(minutes=30, seconds=1)
    assert client.post(other, data={"code": code}).status_code == 410
    third = ask(client, KNOWN, "rectification")
    assert client.post(third, data={"code": code_in(outbox, KNOWN)}).status_code == 200
    assert client.get(third).status_code == 404


def test_unverified_requests_go_after_a_day(app, client, outbox, clock) -> None:  # type: ignore[no-untyped-def]
    page = ask(client, UNKNOWN)
    clock.advance(days=1, minutes=1)
    ask(client, KNOWN)  # the next form sent, by anyone, removes them
    with app.app_context():
        assert services.by_token(db.session(), page.rsplit("/", 1)[1]) is None


@pytest.mark.parametrize(("language", "messages"), [
    ("fr", ("Saisissez une adresse e-mail valide", "Choisissez ce que vous demandez.")),
    ("en", ("Enter a valid e-mail address", "Choose what you ask for."))])
def test_bad_input_is_refused_in_the_visitors_language(app, client, language, messages) -> None:  # type: ignore[no-untyped-def]
    with client.session_transaction() as cookie:
        cookie["lang"] = language
    page = client.get("/rights/request")
    assert page.status_code == 200 and "cnil.fr" in page.text
    bad = client.post("/rights/request", data={"email": "nope"})
    assert bad.status_code == 422
    for message in messages:
        assert message in bad.text
    assert client.post("/rights/request", data={"kind": "sell", "email": KNOWN}
                       ).status_code == 422
    assert client.get("/rights/request/" + "x" * 43).status_code == 404
    assert client.post("/rights/request/short", data={"code": "123456"}).status_code == 404
    with app.app_context():
        assert db.session().scalars(select(PlatformRightsRequest)).all() == []
        assert db.session().scalars(select(RightsForwarding)).all() == []


def test_platform_pages_link_the_platform_form_and_tenant_pages_their_own(client) -> None:  # type: ignore[no-untyped-def]
    english(client)
    assert 'href="/rights/request"' in client.get("/legal/sub-processors").text
    tenant_page = client.get("/t/acme/rights/request").text
    assert 'href="/t/acme/rights/request"' in tenant_page
    assert 'href="/rights/request"' not in tenant_page


def test_codes_of_the_platform_and_the_tenants_follow_one_rule() -> None:
    """Both forms use ``core.email_codes``; a code proves only the request it was sent for."""
    rules = (email_codes.CODE_LIFETIME, email_codes.MAX_ATTEMPTS, email_codes.RESEND_INTERVAL,
             email_codes.UNVERIFIED_KEPT, services.KINDS)
    assert rules == (timedelta(minutes=30), 5, timedelta(minutes=1), timedelta(days=1),
                     tuple(tenant_rights.KINDS))


def test_operators_see_the_requests_and_forward_a_late_one_again(
        app, client, outbox, clock) -> None:  # type: ignore[no-untyped-def]
    """A forwarding whose job failed (or gave up) shows as late on the operators' page; a
    privacy operator sends it again; a support operator sees the page, not the button; the
    page never shows the address."""
    english(client)
    with app.app_context():
        factories.participant("acme", KNOWN)
    with pytest.MonkeyPatch.context() as patch:  # the forwarding job is lost
        patch.setattr("webapp.rights_intake.views.enqueue",
                      lambda job, *args: None if job is tasks.forward else enqueue(job, *args))
        page = ask(client, KNOWN)
        assert client.post(page, data={"code": code_in(outbox, KNOWN)}).status_code == 200
    with app.app_context():
        request_id = platform_row(page).id
    support = english(sign_in_operator(app.test_client(), "support@parvis.test", "support"))
    listed = support.get("/ops/rights-requests")
    assert listed.status_code == 200 and f"Parvis #{request_id}" in listed.text
    assert "Being forwarded" in listed.text and KNOWN not in listed.text
    clock.advance(hours=2)
    late = support.get("/ops/rights-requests").text
    assert "Not forwarded yet: late" in late and "Forward again" not in late
    assert support.post(f"/ops/rights-requests/{request_id}/forward").status_code == 403

    privacy = english(sign_in_operator(app.test_client(), "privacy@parvis.test", "privacy"))
    assert "Forward again" in privacy.get("/ops/rights-requests").text
    sent = privacy.post(f"/ops/rights-requests/{request_id}/forward")
    assert sent.status_code == 303
    page_after = privacy.get(sent.headers["Location"]).text
    assert f"Request Parvis #{request_id} will be forwarded again in a moment." in page_after
    assert "Forwarded on" in page_after and "to 1 organisation" in page_after
    assert len(forwarded("acme")) == 1
    assert privacy.post("/ops/rights-requests/999999/forward").status_code == 404
    again = privacy.post(f"/ops/rights-requests/{request_id}/forward")
    assert "was already forwarded" in privacy.get(again.headers["Location"]).text
    assert len(forwarded("acme")) == 1
