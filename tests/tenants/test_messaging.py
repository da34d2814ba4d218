"""Organisers write to registrants (issue 19 item 4): recipients chosen by group, people who
restricted processing left out and counted, each e-mail once in its reader's language, at a
bounded rate; the tenant's e-mail texts (preview, save, reset); news with a one-click
unsubscribe (RFC 8058) recorded in the consent ledger; bad input refused with a translated
reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.consent import ledger
from tenants.consent.models import ConsentEntry
from tenants.messaging import placeholders, services
from tenants.messaging.models import EmailTemplate, EventMessage, MessageDelivery
from tenants.participants.models import Participant
from tenants.registration.models import Registration
from tenants.rights.models import PrivacyChoices
from tests import factories
from tests.fixtures.people import english, sign_in_member
from tests.tenants.registration_helpers import person


def to(outbox, email: str) -> list:  # type: ignore[no-untyped-def]
    return [m for m in outbox.messages if m["To"] == email]


def registered(event_id: int, participant_id: int, status: str = "confirmed", *,
               attended: bool = False) -> int:
    with tenants_api.tenant_context("acme") as db:
        registration = Registration(event_id=event_id, participant_id=participant_id,
                                    status=status, created_at=utcnow(),
                                    attended_at=utcnow() if attended else None)
        db.add(registration)
        db.flush()
        return registration.id


def restrict(participant_id: int) -> None:
    with tenants_api.tenant_context("acme") as db:
        db.add(PrivacyChoices(participant_id=participant_id, restricted_at=utcnow()))


def opt_in(participant_id: int) -> None:
    with tenants_api.tenant_context("acme") as db:
        ledger.record_marketing(db, db.get(Participant, participant_id), True)


def form(**extra: object) -> dict:
    data: dict = {"audience": ["confirmed"], "subject_fr": "Bonjour {first_name}",
                  "body_fr": "Rendez-vous à {event_title}.\n\nÀ bientôt\n{join_link}",
                  "subject_en": "Hello {first_name}", "body_en": "See you at {event_title}.",
                  "action": "send"}
    data.update(extra)
    return data


@pytest.fixture
def event(app):  # type: ignore[no-untyped-def]
    return factories.event("acme")


def test_confirmed_registrants_get_the_message_once_in_their_language(app, client, outbox,
                                                                       event):
    fr = person("acme", "lea@example.org", language="fr", first_name="Léa")
    en = person("acme", "sam@example.org", language="en", first_name="Sam")
    kept = person("acme", "kept@example.org", language="en")
    waiting = person("acme", "wait@example.org", language="en")
    for someone in (fr, en, kept):
        registered(event, someone)
    registered(event, waiting, "waitlisted")
    restrict(kept)
    sign_in_member(client, role="manager", in_english=True)

    page = client.post(f"/t/acme/admin/events/{event}/messages", data=form(action="preview"))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "This message will go to 2 people." in html
    assert "1 person who restricted the processing of their data is left out." in html
    assert "Hello Léa" in html and "Bonjour Léa" in html  # one recipient, both languages
    assert outbox.messages == []  # a preview sends nothing

    sent = client.post(f"/t/acme/admin/events/{event}/messages", data=form())
    assert sent.status_code == 303
    [french] = to(outbox, "lea@example.org")
    [english_one] = to(outbox, "sam@example.org")
    assert french["Subject"] == "Bonjour Léa" and "Rendez-vous à Atelier." in outbox.text(french)
    assert english_one["Subject"] == "Hello Sam"
    assert "See you at Workshop." in outbox.text(english_one)
    assert "List-Unsubscribe" not in english_one  # not news
    assert "<p>Rendez-vous à Atelier.</p>" in french.get_body(("html",)).get_content()
    assert to(outbox, "kept@example.org") == [] and to(outbox, "wait@example.org") == []
    # {join_link}: the recipient's personal link, never the meeting address.
    assert any("/t/acme/join/" in link for link in outbox.links(french))
    assert "video.example.test" not in outbox.text(french)

    # Another wake-up of the same message sends nothing more.
    with tenants_api.tenant_context("acme") as db:
        message_id = db.scalar(select(EventMessage.id).where(EventMessage.event_id == event))
    assert services.send_batch.call_local("acme", message_id) == 0
    assert len(outbox.messages) == 2

    log = client.get(f"/t/acme/admin/events/{event}/messages").get_data(as_text=True)
    assert "Hello {first_name}" in log and "1 restricted, 0 not opted in" in log
    assert "Sent: 2" in log and "manager@acme.test" in log  # who sent it


def test_groups_attended_absent_and_waiting(app, event, ctx):
    with tenants_api.tenant_context("acme") as db:
        started = db.get(services.Event, event)
        started.starts_at = utcnow() - timedelta(hours=3)
        started.ends_at = utcnow() - timedelta(hours=1)
    people = [person("acme", f"g{i}@example.org") for i in range(3)]
    came = registered(event, people[0], attended=True)
    absent = registered(event, people[1])
    waits = registered(event, people[2], "waitlisted")
    with tenants_api.tenant_context("acme") as db:
        ev = db.get(services.Event, event)
        assert services.plan(db, ev, ["attended"], False).registration_ids == [came]
        assert services.plan(db, ev, ["absent"], False).registration_ids == [absent]
        assert services.plan(db, ev, ["waitlisted"], False).registration_ids == [waits]
        assert services.plan(db, ev, ["confirmed", "attended"], False).registration_ids == [
            came, absent]


def test_sending_goes_in_batches_at_a_bounded_rate(app, client, outbox, event, clock):
    for i in range(5):
        registered(event, person("acme", f"r{i}@example.org"))
    app.config.update(MESSAGES_BATCH_SIZE=2, MESSAGES_BATCH_SECONDS=60)
    try:
        sign_in_member(client, role="manager")
        assert client.post(f"/t/acme/admin/events/{event}/messages",
                           data=form()).status_code == 303
        assert len(outbox.messages) == 2
        with tenants_api.tenant_context("acme") as db:
            message = db.scalar(select(EventMessage).where(EventMessage.event_id == event))
            message_id, next_at = message.id, message.next_batch_at
        assert next_at is not None and next_at >= utcnow() + timedelta(seconds=59)
        # Woken too early (a duplicate): the rate holds, nothing is sent.
        assert services.send_batch.call_local("acme", message_id) == 0
        clock.advance(seconds=60)
        assert services.send_batch.call_local("acme", message_id) == 2
        assert services.send_batch.call_local("acme", message_id) == 0
        clock.advance(seconds=60)
        assert services.send_batch.call_local("acme", message_id) == 1
        assert sorted(m["To"] for m in outbox.messages) == [
            f"r{i}@example.org" for i in range(5)]
        with tenants_api.tenant_context("acme") as db:
            done = db.get(EventMessage, message_id)
            assert done.finished_at is not None and done.sent == 5
    finally:
        app.config.update(MESSAGES_BATCH_SIZE=50, MESSAGES_BATCH_SECONDS=60)


def test_a_batch_that_fails_midway_sends_nothing_and_its_retry_sends_each_once(
        app, outbox, event, monkeypatch, ctx):
    ids = [person("acme", f"k{i}@example.org") for i in range(3)]
    for someone in ids:
        registered(event, someone)
    with tenants_api.tenant_context("acme") as db:
        message = services.EventMessage(
            event_id=event, kind="message", news=False, subject={"fr": "Objet"},
            body={"fr": "Texte"}, audiences=["confirmed"], created_at=utcnow(), sent=0,
            recipients=3, left_out_restricted=0, left_out_news=0)
        db.add(message)
        db.flush()
        db.add_all(MessageDelivery(message_id=message.id, registration_id=rid,
                                   status="pending")
                   for rid in db.scalars(select(Registration.id).where(
                       Registration.event_id == event)))
        message_id = message.id
    real = services.render
    calls = {"n": 0}

    def dies_on_the_second(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "render", dies_on_the_second)
    with pytest.raises(RuntimeError):
        services.send_batch.call_local("acme", message_id)
    assert outbox.messages == []
    with tenants_api.tenant_context("acme") as db:
        assert set(db.scalars(select(MessageDelivery.status).where(
            MessageDelivery.message_id == message_id))) == {"pending"}
    assert services.send_batch.call_local("acme", message_id) == 3
    assert sorted(m["To"] for m in outbox.messages) == [f"k{i}@example.org" for i in range(3)]


def test_news_goes_to_opted_in_people_with_a_one_click_unsubscribe(app, client, outbox,
                                                                   event):
    willing = person("acme", "yes@example.org")
    unwilling = person("acme", "no@example.org")
    for someone in (willing, unwilling):
        registered(event, someone)
    opt_in(willing)
    sign_in_member(client, role="manager", in_english=True)
    preview = client.post(f"/t/acme/admin/events/{event}/messages",
                          data=form(news="y", action="preview")).get_data(as_text=True)
    assert "1 person who did not agree to receive news is left out." in preview
    assert client.post(f"/t/acme/admin/events/{event}/messages",
                       data=form(news="y")).status_code == 303
    [news] = outbox.messages
    assert news["To"] == "yes@example.org"
    link = news["List-Unsubscribe"].strip().strip("<>")
    assert news["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in outbox.links(news) and "/t/acme/unsubscribe/" in link
    path = link.split("127.0.0.1:5000", 1)[1]

    stranger = english(factories_client(app))
    assert "Do you want to stop receiving news" in stranger.get(path).get_data(as_text=True)
    with tenants_api.tenant_context("acme") as db:
        assert ledger.marketing(db, willing) is True  # GET changes nothing
    # The mail provider's RFC 8058 POST: no session, no form token.
    answer = stranger.post(path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and "You are unsubscribed" in answer.get_data(as_text=True)
    with tenants_api.tenant_context("acme") as db:
        assert ledger.marketing(db, willing) is False
        proofs = list(db.scalars(select(ConsentEntry).where(
            ConsentEntry.participant_id == willing)))
    assert proofs[-1].choices["change"] == "marketing_withdrawn"
    assert stranger.post(path).status_code == 200  # again: nothing new
    with tenants_api.tenant_context("acme") as db:
        assert len(list(db.scalars(select(ConsentEntry).where(
            ConsentEntry.participant_id == willing)))) == len(proofs)
    assert stranger.get(path[:-3] + "xyz").status_code == 404
    assert stranger.get("/t/globex/unsubscribe/" + path.rsplit("/", 1)[1]).status_code == 404


def factories_client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.mark.parametrize(("language", "expected"), [
    ("fr", "Choisissez au moins un groupe de destinataires."),
    ("en", "Choose at least one group of recipients.")])
def test_bad_input_is_refused_with_a_translated_reason(app, client, outbox, event, language,
                                                       expected):
    registered(event, person("acme", "bad@example.org"))
    sign_in_member(client, role="manager", in_english=language == "en")
    page = client.post(f"/t/acme/admin/events/{event}/messages", data=form(audience=[]))
    assert page.status_code == 422 and expected in page.get_data(as_text=True)
    for junk in ({"subject_fr": ""}, {"body_fr": "{first_name.__class__}"},
                 {"body_en": "{password}"}, {"subject_fr": "a {"},
                 {"audience": ["everyone"]}):
        assert client.post(f"/t/acme/admin/events/{event}/messages",
                           data=form(**junk)).status_code == 422, junk
    assert outbox.messages == []
    with tenants_api.tenant_context("acme") as db:
        assert db.scalar(select(EventMessage.id)) is None


def test_only_managers_send_and_staff_read_the_log(app, client, event):
    sign_in_member(client, role="viewer")
    assert client.get(f"/t/acme/admin/events/{event}/messages").status_code == 200
    assert client.post(f"/t/acme/admin/events/{event}/messages",
                       data=form()).status_code == 403
    assert app.test_client().get(f"/t/acme/admin/events/{event}/messages").status_code in (
        302, 303)


def test_placeholders_are_a_whitelist_and_html_is_escaped() -> None:
    allowed = ("first_name",)
    assert placeholders.problems("Hi {first_name} {{braces}}", allowed) == []
    assert placeholders.problems("{first_name.__class__} {x[0]} {first_name!r} {first_name:>9}",
                                 allowed) == ["{first_name.__class__}", "{x[0]}",
                                              "{first_name!r}", "{first_name:>9}"]
    assert placeholders.render_text("{first_name} {{x}}", {"first_name": "Ann"}) == "Ann {x}"
    html = placeholders.render_html("<b>{first_name}</b>\nline\n\nnext",
                                    {"first_name": "<script>"})
    assert html == ("<p>&lt;b&gt;&lt;script&gt;&lt;/b&gt;<br>\nline</p>\n<p>next</p>")


def test_email_texts_preview_save_use_and_reset(app, client, outbox, event):
    sign_in_member(client, role="admin", in_english=True)
    url = "/t/acme/admin/email-texts/confirmation/en"
    assert "Registration confirmation" in client.get("/t/acme/admin/email-texts").get_data(
        as_text=True)
    page = client.get(url).get_data(as_text=True)
    assert "Registration confirmed: {event_title}" in page and "default text" in page
    preview = client.post(url, data={"subject": "Booked: {event_title}",
                                     "body": "Dear {first_name}, <see> you", "action": "preview"})
    shown = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Dear Camille, &lt;see&gt; you" in shown
    bad = client.post(url, data={"subject": "x", "body": "{delay}", "action": "save"})
    assert bad.status_code == 422 and "Unknown placeholder" in bad.get_data(as_text=True)
    assert client.post(url, data={"subject": "Booked: {event_title}",
                                  "body": "Dear {first_name}, see you", "action": "save"}
                       ).status_code == 303
    with tenants_api.tenant_context("acme") as db:
        assert db.scalar(select(EmailTemplate.subject)) == "Booked: {event_title}"

    from tenants.registration import tasks
    rid = registered(event, person("acme", "custom@example.org", first_name="Ivy"))
    assert tasks.send_registration_email.call_local("acme", rid, "confirmed")
    [mail] = to(outbox, "custom@example.org")
    assert mail["Subject"] == "Booked: Workshop"
    assert "Dear Ivy, see you" in outbox.text(mail)

    assert client.post(url, data={"action": "reset"}).status_code == 303
    with tenants_api.tenant_context("acme") as db:
        assert db.scalar(select(EmailTemplate.id)) is None
    assert "default text" in client.get(url).get_data(as_text=True)
    assert client.get("/t/acme/admin/email-texts/nope/en").status_code == 404
    assert client.get("/t/acme/admin/email-texts/confirmation/de").status_code == 404


def test_the_follow_up_is_prefilled_for_attendees(app, client, event):
    with tenants_api.tenant_context("acme") as db:
        db.execute(update(services.Event).where(services.Event.id == event).values(
            starts_at=utcnow() - timedelta(hours=3), ends_at=utcnow() - timedelta(hours=1)))
    sign_in_member(client, role="manager", in_english=True)
    page = client.get(f"/t/acme/admin/events/{event}/messages?template=followup")
    html = page.get_data(as_text=True)
    assert "Thank you for attending {event_title}" in html
    assert 'value="attended" id="audience-attended" checked' in html


def test_a_saved_reminder_text_gets_the_delay_in_the_readers_language(app, outbox, event):
    from tenants.messaging import email_texts
    from tenants.registration import tasks

    with tenants_api.tenant_context("acme") as db:
        email_texts.save(db, "reminder", "fr", "Dans {delay} : {event_title}",
                         "{first_name}, on commence dans {delay}.")
    try:
        fr = registered(event, person("acme", "rappel@example.org", language="fr",
                                      first_name="Zoé"))
        en = registered(event, person("acme", "remind@example.org", language="en"))
        assert tasks.send_registration_email.call_local("acme", fr, "reminder", 1440)
        assert tasks.send_registration_email.call_local("acme", en, "reminder", 60)
        [french] = to(outbox, "rappel@example.org")
        assert french["Subject"] == "Dans 24 heures : Atelier"
        assert "Zoé, on commence dans 24 heures." in outbox.text(french)
        [english_one] = to(outbox, "remind@example.org")  # no English text saved: the default
        assert english_one["Subject"] == "Reminder: Workshop starts in 1 hour"
    finally:
        with tenants_api.tenant_context("acme") as db:
            email_texts.reset(db, "reminder", "fr")


def test_erasing_a_recipient_takes_their_deliveries_and_keeps_the_log(app, client, outbox,
                                                                     event):
    from tenants.rights import services as rights

    gone = person("acme", "gone@example.org")
    registered(event, gone)
    registered(event, person("acme", "stays@example.org"))
    sign_in_member(client, role="manager")
    assert client.post(f"/t/acme/admin/events/{event}/messages", data=form()).status_code == 303
    with tenants_api.tenant_context("acme") as db:
        erased = rights.erase(db, db.get(Participant, gone))
        assert erased is not None
    with tenants_api.tenant_context("acme") as db:
        assert db.scalar(select(func.count()).select_from(MessageDelivery)) == 1
        assert db.scalar(select(EventMessage.recipients)) == 2  # the log's counts stay
