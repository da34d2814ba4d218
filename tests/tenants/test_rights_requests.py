"""Rights requests: the form and its e-mailed code, the legal clock (one calendar month,
extendable once within it), the tenant's inbox by role, answers with evidence, isolation."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.audit.models import AccessLog
from tenants.participants.models import Participant
from tenants.rights import services
from tenants.rights.models import RequestStep, RightsRequest
from tests.fixtures.people import english, sign_in_member, sign_in_participant
from tests.mail_sink import SMTPSink
from tests.tenants.account_helpers import path
from tests.tenants.registration_helpers import person

ROLES = ("owner", "admin", "manager", "moderator", "viewer")


@pytest.mark.parametrize(("received", "due"), [
    (date(2027, 1, 31), date(2027, 2, 28)), (date(2028, 1, 31), date(2028, 2, 29)),
    (date(2027, 3, 31), date(2027, 4, 30)), (date(2027, 12, 15), date(2028, 1, 15)),
    (date(2027, 2, 28), date(2027, 3, 28))])
def test_one_calendar_month_across_month_ends(received: date, due: date) -> None:
    assert services.add_months(received, 1) == due


def test_days_left_and_the_extension_window() -> None:
    request = RightsRequest(status="open", due_on=date(2027, 2, 28), extended_to=None)
    assert services.days_left(request, date(2027, 2, 1)) == 27
    assert services.days_left(request, date(2027, 3, 2)) == -2
    assert services.can_extend(request, date(2027, 2, 28))
    assert not services.can_extend(request, date(2027, 3, 1))  # only within the first month
    request.extended_to = services.add_months(request.due_on, 2)
    assert request.extended_to == date(2027, 4, 28) and not services.can_extend(
        request, date(2027, 2, 1))


def code_in(outbox: SMTPSink, email: str) -> str:
    message = outbox.wait_for(lambda m: m["To"] == email and "code" in m["Subject"])
    found = re.search(r"code is (\d{6})", SMTPSink.text(message))
    assert found is not None
    return found.group(1)


def ask(client, email: str = "sam@example.org", kind: str = "access") -> str:  # type: ignore[no-untyped-def]
    """Send the form; the verification page's path."""
    sent = client.post("/t/acme/rights/request", data={"kind": kind, "email": email,
                                                        "details": "Please"})
    assert sent.status_code == 303
    return sent.headers["Location"]


def stored(email: str) -> list[tuple[str, str]]:
    with tenants_api.tenant_context("acme") as session:
        return [(r.kind, r.status) for r in session.scalars(
            select(RightsRequest).where(RightsRequest.email == email).order_by(RightsRequest.id))]


def test_bad_form_input_is_refused_with_reasons(client) -> None:  # type: ignore[no-untyped-def]
    english(client)
    page = client.get("/t/acme/rights/request")
    assert page.status_code == 200 and "cnil.fr" in page.text
    bad = client.post("/t/acme/rights/request", data={"kind": "sell", "email": "nope"})
    assert bad.status_code == 422 and "valid e-mail address" in bad.text
    assert "Not a valid choice" in bad.text
    assert stored("nope") == []


def test_a_verified_code_opens_the_request_with_its_due_date(client, outbox) -> None:  # type: ignore[no-untyped-def]
    english(client)
    person("acme", "sam@example.org")
    verify = ask(client)
    code = code_in(outbox, "sam@example.org")
    assert stored("sam@example.org") == [("access", "unverified")]
    done = client.post(verify, data={"code": code})
    assert done.status_code == 200 and "Your request is received" in done.text
    assert client.get(verify).status_code == 404  # nothing to see once verified
    with tenants_api.tenant_context("acme") as session:
        request = session.scalar(select(RightsRequest))
        assert request.status == "open" and request.participant_id is not None
        assert request.due_on == services.add_months(request.received_at.date(), 1)
        assert request.code_hash == ""
        assert code not in json.dumps([request.details, request.email])


def test_forged_codes_are_refused_then_the_code_dies(client, outbox) -> None:  # type: ignore[no-untyped-def]
    english(client)
    verify = ask(client)
    code = code_in(outbox, "sam@example.org")
    forged = f"{(int(code) + 1) % 10**6:06d}"
    malformed = client.post(verify, data={"code": "12ab"})
    assert malformed.status_code == 422 and "The code has 6 digits." in malformed.text
    for left in (4, 3, 2, 1):
        wrong = client.post(verify, data={"code": forged})
        assert wrong.status_code == 422 and f"Attempts left: {left}." in wrong.text
    assert client.post(verify, data={"code": forged}).status_code == 410
    final = client.post(verify, data={"code": code})  # too late, even with the right code
    assert final.status_code == 410 and "can no longer be used" in final.text
    assert stored("sam@example.org") == [("access", "unverified")]


def test_codes_expire_after_thirty_minutes(client, outbox, clock) -> None:  # type: ignore[no-untyped-def]
    verify = ask(english(client))
    code = code_in(outbox, "sam@example.org")
    clock.advance(minutes=31)
    assert client.post(verify, data={"code": code}).status_code == 410
    clock.advance(days=1)  # the next form sent, by anyone, removes unverified ones
    ask(client, email="other@example.org")
    assert stored("sam@example.org") == []


def test_sending_the_form_again_does_not_flood_the_inbox(client, outbox, clock) -> None:  # type: ignore[no-untyped-def]
    english(client)
    verify = ask(client)
    first = code_in(outbox, "sam@example.org")
    assert ask(client) == verify  # the same request; no new code within a minute
    clock.advance(minutes=2)
    assert ask(client) == verify
    outbox.wait_for(lambda m: m["To"] == "sam@example.org" and first not in SMTPSink.text(m))
    assert len([m for m in outbox.messages if m["To"] == "sam@example.org"]) == 2
    assert client.post(verify, data={"code": first}).status_code == 422  # replaced
    second = code_in_last(outbox, "sam@example.org")
    assert client.post(verify, data={"code": second}).status_code == 200
    assert stored("sam@example.org") == [("access", "open")]


def code_in_last(outbox: SMTPSink, email: str) -> str:
    message = [m for m in outbox.messages if m["To"] == email][-1]
    found = re.search(r"code is (\d{6})", SMTPSink.text(message))
    assert found is not None
    return found.group(1)


def test_the_same_open_request_is_not_duplicated(client, outbox) -> None:  # type: ignore[no-untyped-def]
    english(client)
    client.post(ask(client), data={"code": code_in(outbox, "sam@example.org")})
    outbox.clear()
    again = ask(client)
    second = client.post(again, data={"code": code_in(outbox, "sam@example.org")})
    assert second.status_code == 409 and "already have the same request open" in second.text
    assert stored("sam@example.org") == [("access", "open")]
    outbox.clear()
    other = ask(client, kind="erasure")  # another right is another request
    client.post(other, data={"code": code_in(outbox, "sam@example.org")})
    assert stored("sam@example.org") == [("access", "open"), ("erasure", "open")]


def open_request(kind: str = "access", email: str = "sam@example.org",
                 received: datetime | None = None, language: str = "en") -> int:
    with tenants_api.tenant_context("acme") as session:
        now = received or utcnow()
        request = RightsRequest(kind=kind, email=email, source="form", status="open",
                                language=language, created_at=now, received_at=now,
                                due_on=services.add_months(now.date(), 1),
                                participant_id=session.scalar(select(Participant.id).where(
                                    Participant.email == email)))
        session.add(request)
        session.flush()
        return request.id


@pytest.mark.parametrize("role", ROLES)
def test_the_inbox_is_for_managers_and_above(app, role: str) -> None:  # type: ignore[no-untyped-def]
    request_id = open_request()
    member = sign_in_member(app.test_client(), "acme", role, in_english=True)
    allowed = role in ("owner", "admin", "manager")
    for url in ("/t/acme/admin/rights", f"/t/acme/admin/rights/{request_id}"):
        assert member.get(url).status_code == (200 if allowed else 403)
    extended = member.post(f"/t/acme/admin/rights/{request_id}/extend",
                           data={"months": "1", "reason": "Busy"})
    assert extended.status_code == (303 if allowed else 403)
    log = member.get("/t/acme/admin/access-log")
    assert log.status_code == (200 if role in ("owner", "admin") else 403)


def test_participants_and_visitors_get_no_inbox(app, client) -> None:  # type: ignore[no-untyped-def]
    request_id = open_request()
    participant = sign_in_participant(app.test_client(), "acme", person("acme", "ann@example.org"))
    for who in (client, participant):
        for url in ("/t/acme/admin/rights", f"/t/acme/admin/rights/{request_id}",
                    "/t/acme/admin/access-log"):
            assert who.get(url).status_code in (302, 401, 403)


def test_another_tenants_request_ids_are_not_found(app, outbox) -> None:  # type: ignore[no-untyped-def]
    request_id = open_request()
    globex = sign_in_member(app.test_client(), "globex", "owner", in_english=True)
    assert globex.get(f"/t/globex/admin/rights/{request_id}").status_code == 404
    assert globex.post(f"/t/globex/admin/rights/{request_id}/complete",
                       data={"note": "x"}).status_code == 404
    assert app.test_client().post(f"/t/globex/rights/requests/{request_id}",
                                  data={"code": "123456"}).status_code == 404
    assert stored("sam@example.org") == [("access", "open")]


def test_extension_once_within_the_first_month_with_reasons_emailed(app, outbox, clock) -> None:  # type: ignore[no-untyped-def]
    first, second = open_request(), open_request(kind="erasure")
    manager = sign_in_member(app.test_client(), "acme", "manager", in_english=True)
    no_reason = manager.post(f"/t/acme/admin/rights/{first}/extend", data={"months": "2"})
    assert no_reason.status_code == 422 and "Give the reasons" in no_reason.text
    too_long = manager.post(f"/t/acme/admin/rights/{first}/extend",
                            data={"months": "3", "reason": "Busy"})
    assert too_long.status_code == 422
    done = manager.post(f"/t/acme/admin/rights/{first}/extend",
                        data={"months": "2", "reason": "Archives to search <b>"})
    assert done.status_code == 303
    message = outbox.wait_for(lambda m: "more time" in m["Subject"])
    assert message["To"] == "sam@example.org"
    assert "Archives to search <b>" in SMTPSink.text(message)
    again = manager.post(f"/t/acme/admin/rights/{first}/extend",
                         data={"months": "1", "reason": "More"})
    assert again.status_code == 409 and "once, within the first month" in again.text

    clock.advance(days=40)  # the second is overdue, and can no longer be extended
    manager = sign_in_member(app.test_client(), "acme", "manager", "late@acme.test",
                             in_english=True)  # a new session
    inbox = manager.get("/t/acme/admin/rights")
    assert 'class="overdue"' in inbox.text and "Overdue by" in inbox.text
    late = manager.post(f"/t/acme/admin/rights/{second}/extend",
                        data={"months": "1", "reason": "Late"})
    assert late.status_code == 409
    with tenants_api.tenant_context("acme") as session:
        first_row, second_row = session.get(RightsRequest, first), session.get(
            RightsRequest, second)
        assert first_row.extended_to == services.add_months(first_row.due_on, 2)
        assert second_row.extended_to is None
        actions = list(session.scalars(select(RequestStep.action).where(
            RequestStep.request_id == first)))
    assert actions == ["extended"]


def test_answering_an_access_request_sends_a_working_download_link(app, outbox) -> None:  # type: ignore[no-untyped-def]
    person("acme", "sam@example.org", city="=1+1")
    request_id = open_request()
    manager = sign_in_member(app.test_client(), "acme", "manager", in_english=True)
    empty = manager.post(f"/t/acme/admin/rights/{request_id}/complete", data={"note": ""})
    assert empty.status_code == 422 and stored("sam@example.org") == [("access", "open")]
    done = manager.post(f"/t/acme/admin/rights/{request_id}/complete",
                        data={"note": "Here is your data."})
    assert done.status_code == 303
    message = outbox.wait_for(lambda m: "answered" in m["Subject"])
    link = next(url for url in SMTPSink.links(message) if "/answer/" in url)
    download = app.test_client().get(path(link))
    assert download.status_code == 200
    assert json.loads(download.text)["profile"]["city"] == "=1+1"  # JSON is data, not a sheet
    assert app.test_client().get(path(link) + "x").status_code == 404
    with tenants_api.tenant_context("acme") as session:
        request = session.get(RightsRequest, request_id)
        assert request.status == "completed"
        assert request.evidence["export_bytes"] > 0 and request.evidence["account"] is True
        logged = session.scalar(select(func.count()).select_from(AccessLog).where(
            AccessLog.action == "participant.export"))
    assert logged == 1
    assert manager.post(f"/t/acme/admin/rights/{request_id}/complete",
                        data={"note": "Again"}).status_code == 409


def test_erasure_requests_are_answered_by_admins_with_the_counts_as_evidence(app, outbox) -> None:  # type: ignore[no-untyped-def]
    person("acme", "sam@example.org")
    request_id = open_request(kind="erasure")
    manager = sign_in_member(app.test_client(), "acme", "manager", in_english=True)
    assert "Only an administrator" in manager.get(f"/t/acme/admin/rights/{request_id}").text
    assert manager.post(f"/t/acme/admin/rights/{request_id}/complete",
                        data={"note": "Done"}).status_code == 403
    admin = sign_in_member(app.test_client(), "acme", "admin", in_english=True)
    assert admin.post(f"/t/acme/admin/rights/{request_id}/complete",
                      data={"note": "Erased."}).status_code == 303
    with tenants_api.tenant_context("acme") as session:
        assert session.scalar(select(Participant).where(
            Participant.email == "sam@example.org")) is None
        request = session.get(RightsRequest, request_id)
        assert request.participant_id is None and request.evidence["erased_registrations"] == 0
    english(admin)
    page = admin.get(f"/t/acme/admin/rights/{request_id}").text
    assert "Erased at: " in page and "Account with this address: yes" in page
    assert "answered" in page and "member #" not in page  # the history names who answered


def test_staff_reads_appear_in_the_access_log(app) -> None:  # type: ignore[no-untyped-def]
    pid = person("acme", "sam@example.org")
    request_id = open_request()
    admin = sign_in_member(app.test_client(), "acme", "admin", in_english=True)
    admin.get(f"/t/acme/admin/participants/{pid}")
    admin.get(f"/t/acme/admin/rights/{request_id}")
    log = english(admin).get("/t/acme/admin/access-log").text
    assert f"participant no. {pid}" in log and f"request no. {request_id}" in log
    assert "Read a participant&#39;s full record" in log and "Read a rights request" in log
    assert "member #" not in log  # the member is named
    assert "sam@example.org" not in log  # no copy of the data read


def test_self_service_actions_are_in_the_inbox(app) -> None:  # type: ignore[no-untyped-def]
    pid = person("acme", "ann@example.org")
    participant = sign_in_participant(english(app.test_client()), "acme", pid)
    participant.get("/t/acme/me/privacy/my-data.json")
    manager = sign_in_member(app.test_client(), "acme", "manager", in_english=True)
    answered = manager.get("/t/acme/admin/rights?show=completed").text
    assert "ann@example.org" in answered and "self-service" in answered


def test_the_inbox_pages_by_fifty_most_urgent_first(app) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    ids = [open_request(email=f"p{n}@example.org", received=start.replace(day=1 + n % 28,
                                                                          hour=n % 24))
           for n in range(51)]
    manager = sign_in_member(app.test_client(), "acme", "manager", in_english=True)
    first = manager.get("/t/acme/admin/rights").text
    assert first.count("@example.org</td>") == 50 and "page=2" in first and "Previous" not in first
    second = manager.get("/t/acme/admin/rights?page=2").text
    assert second.count("@example.org</td>") == 1 and "Next" not in second
    with tenants_api.tenant_context("acme") as session:
        latest = session.get(RightsRequest, ids[27])  # received on the 28th, at 03:00
    assert latest.email in second  # the least urgent comes last
    for junk in ("0", "-3", "abc", "99999999999999"):
        page = manager.get(f"/t/acme/admin/rights?page={junk}")
        assert page.status_code == 200


def test_emails_about_a_request_speak_the_requesters_language(app, outbox) -> None:  # type: ignore[no-untyped-def]
    request_id = open_request(language="fr")
    # browsing in English
    manager = sign_in_member(app.test_client(), "acme", "manager", in_english=True)
    assert manager.post(f"/t/acme/admin/rights/{request_id}/extend",
                        data={"months": "1", "reason": "Archives"}).status_code == 303
    assert manager.post(f"/t/acme/admin/rights/{request_id}/complete",
                        data={"note": "Voici"}).status_code == 303
    outbox.wait_for(lambda m: "délai supplémentaire" in m["Subject"])  # the extension
    answer = outbox.wait_for(lambda m: m["Subject"] != outbox.messages[0]["Subject"])
    assert "Voici" in SMTPSink.text(answer) and "demande" in answer["Subject"]
