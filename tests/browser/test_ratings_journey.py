"""The ratings journey of issue 4, as new users try it in Chromium, in French and English.

After an event, a participant who attended rates it and edits the rating; one who registered
but did not attend cannot rate; a moderator publishes one review and hides another with a
reason, which its author receives by e-mail; the average appears only with the fifth rating;
an admin erases an author, and the average stays while the name and comment go. The event page
and the moderation queue are checked with axe-core; every page for CSP violations.
"""

from __future__ import annotations

import secrets
from multiprocessing.connection import Connection

import pytest
from playwright.sync_api import Page, expect

from core.clock import utcnow
from tests import factories
from tests.browser.conftest import LiveServer, Pages, from_child
from tests.fixtures.browser import (
    accessibility,
    choose_language,
    member_sign_in,
    participant_sign_in,
    shot,
    t,
    tn,
)
from tests.mail_sink import SMTPSink

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

TITLE = {"fr": "Atelier d'écriture", "en": "Writing workshop"}
PASSWORD = "Un mot de passe solide 42"
RUDE = "Nul, et l'animateur est un idiot."


def _seed(settings: dict, slug: str, language: str, pipe: Connection) -> None:
    """In a child process: a tenant, its admin and moderator, an event that ended yesterday,
    three earlier star-only ratings, a held rude review, and three participants."""
    from datetime import timedelta

    from tenants import api as tenants_api
    from tenants.events.models import Event
    from tenants.ratings import services
    from tenants.ratings.models import Rating
    from tenants.registration.models import Registration
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context():
        factories.tenant(slug, name="Parvis Avis", language="fr")
        factories.member(slug, f"admin@{slug}.example.org", "admin")
        factories.member(slug, f"moderator@{slug}.example.org", "moderator")
        people = {}
        for name in ("ann", "bob", "chloe", "dan", "early1", "early2", "early3"):
            people[name] = tenants_api.add_participant(
                slug, email=f"{name}@{slug}.example.org", password=PASSWORD,
                first_name=name.capitalize(), last_name="Martin", language=language)
        with tenants_api.tenant_context(slug) as session:
            now = utcnow()
            event = Event(title=TITLE, starts_at=now - timedelta(days=1, hours=2),
                          ends_at=now - timedelta(days=1), status="published",
                          seats_taken=len(people))
            session.add(event)
            session.flush()
            for name, pid in people.items():
                session.add(Registration(
                    event_id=event.id, participant_id=pid, status="confirmed",
                    created_at=now - timedelta(days=5), confirmed_at=now - timedelta(days=5),
                    attended_at=None if name == "bob" else now - timedelta(days=1)))
            for name in ("early1", "early2", "early3"):
                session.add(Rating(event_id=event.id, participant_id=people[name], stars=4,
                                   comment="", status="published", created_at=now))
            session.add(Rating(event_id=event.id, participant_id=people["dan"], stars=1,
                               comment=RUDE, status="pending", created_at=now))
            session.flush()
            services.recount(session, event.id)
            pipe.send((event.id, people["ann"]))
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()


def seed(server: LiveServer, slug: str, language: str) -> tuple[int, int]:
    return from_child(_seed, server.settings, slug, language)  # type: ignore[return-value]


def rate(page: Page, language: str, stars: int, comment: str) -> None:
    """On the rating page: choose the stars, write the comment, send."""
    page.get_by_label(t(language, {5: "5 stars: excellent", 4: "4 stars: good",
                                   3: "3 stars: average"}[stars]), exact=True).check()
    page.get_by_label(t(language, "Your comment (optional)")).fill(comment)
    page.locator("main form button[type=submit]").click()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_ratings_journey(pages: Pages, live_server: LiveServer, mail_sink: SMTPSink,
                         language: str) -> None:
    slug = f"avis-{language}-{secrets.token_hex(3)}"
    event_id, ann_id = seed(live_server, slug, language)
    event_url = f"{live_server.url}/t/{slug}/events/{event_id}"
    reviews = "#reviews"
    found: list[str] = []
    not_enough = t(language, "Not enough ratings yet: the average is shown from %(num)d "
                             "ratings.", num=5)

    # 1. Ann attended: she rates, then changes her rating.
    ann = pages.open()
    participant_sign_in(ann, live_server, slug, f"ann@{slug}.example.org", language,
                        PASSWORD)
    ann.goto(event_url)
    expect(ann.locator(reviews)).to_contain_text(not_enough)
    ann.get_by_role("link", name=t(language, "Rate this event"), exact=True).click()
    expect(ann.get_by_role("heading", level=1)).to_have_text(
        t(language, "Rate: %(title)s", title=TITLE[language]))
    rate(ann, language, 4, "<script>alert(1)</script>")
    expect(ann.get_by_role("alert").first).to_be_visible()
    expect(ann.locator("main")).to_contain_text(t(
        language, "Please write plain text: HTML tags are not accepted. Remove the parts "
                  "written between angle brackets."))
    rate(ann, language, 4, "Clair et concret.")
    expect(ann).to_have_url(f"{event_url}#reviews")
    expect(ann.locator(reviews)).to_contain_text(t(language, "Thank you: your rating is saved."))
    ann.get_by_role("link", name=t(language, "Change your rating"), exact=True).click()
    rate(ann, language, 5, "Clair, concret et utile.")
    expect(ann.locator(reviews)).to_contain_text(t(language, "Your rating is changed."))
    expect(ann.locator(reviews)).to_contain_text("Clair, concret et utile.")
    found += accessibility(ann, f"{language}-event-page-rated")

    # 2. Bob registered but did not attend: no rating for him.
    bob = pages.open()
    participant_sign_in(bob, live_server, slug, f"bob@{slug}.example.org", language,
                        PASSWORD)
    bob.goto(event_url)
    expect(bob.get_by_role("link", name=t(language, "Rate this event"))).to_have_count(0)
    bob.goto(f"{event_url}/rating")
    expect(bob.get_by_role("alert")).to_have_text(
        t(language, "Only participants who attended this event can rate it."))
    expect(bob.locator("main form")).to_have_count(0)

    # 3. The moderator publishes Ann's review and hides Dan's with a reason (htmx).
    moderator = pages.open()
    queue_url = f"{live_server.url}/t/{slug}/admin/ratings"
    member_sign_in(moderator, queue_url, f"moderator@{slug}.example.org", language)
    expect(moderator.get_by_role("heading", level=1)).to_have_text(
        t(language, "Moderation queue"))
    found += accessibility(moderator, f"{language}-moderation-queue")
    if language == "fr":
        shot(moderator, "ratings-moderation-fr")
    ann_item = moderator.locator(".moderation-item").filter(has_text="Clair, concret et utile.")
    ann_item.get_by_role("button", name=t(language, "Publish"), exact=True).click()
    expect(moderator.locator(".moderation-item").filter(
        has_text=t(language, "The review is published."))).to_be_visible()
    dan_item = moderator.locator(".moderation-item").filter(has_text=RUDE)
    reason = {"fr": "Les insultes ne sont pas acceptées.",
              "en": "Insults are not accepted."}[language]
    dan_item.get_by_label(t(language, "Reason for hiding (sent to the author)")).fill(reason)
    dan_item.get_by_role("button", name=t(language, "Hide this review")).click()
    expect(moderator.locator(".moderation-item").filter(
        has_text=t(language, "The review is hidden and its author is told why."))).to_be_visible()
    hidden = mail_sink.wait_for(lambda m: m["To"] == f"dan@{slug}.example.org" and m[
        "Subject"] == t(language, "Your review was hidden: %(title)s", title=TITLE[language]),
        timeout=15)
    assert reason in SMTPSink.text(hidden)

    # 4. Four ratings count: not enough; Chloé's star-only rating is the fifth.
    visitor = pages.open()
    visitor.goto(event_url)
    choose_language(visitor, language)
    expect(visitor.locator(reviews)).to_contain_text(not_enough)
    expect(visitor.locator(reviews)).to_contain_text(tn(
        language, "%(num)d review was hidden by the moderators.",
        "%(num)d reviews were hidden by the moderators.", 1))
    expect(visitor.locator(reviews)).not_to_contain_text(RUDE)
    chloe = pages.open()
    participant_sign_in(chloe, live_server, slug, f"chloe@{slug}.example.org", language,
                        PASSWORD)
    chloe.goto(f"{event_url}/rating")
    rate(chloe, language, 3, "")
    average = tn(language, "Average rating: %(average)s out of 5, from %(num)d rating.",
                 "Average rating: %(average)s out of 5, from %(num)d ratings.", 5,
                 average="4,0" if language == "fr" else "4.0")
    visitor.reload()
    expect(visitor.locator(reviews)).to_contain_text(average)
    expect(visitor.locator(reviews)).to_contain_text("Ann M.")
    found += accessibility(visitor, f"{language}-event-page-average")
    if language == "fr":
        shot(visitor, "ratings-event-page-fr")

    # 5. The admin erases Ann: the average stays, her name and comment go.
    admin = pages.open()
    record = f"{live_server.url}/t/{slug}/admin/participants/{ann_id}"
    member_sign_in(admin, record, f"admin@{slug}.example.org", language)
    admin.get_by_role("link", name=t(language, "Erase this participant")).click()
    admin.get_by_role("button", name=t(language, "Erase this participant")).click()
    expect(admin.locator(".error")).to_contain_text(
        t(language, "Tick the box to confirm the erasure."))
    admin.get_by_label(t(language, "I understand that this cannot be undone")).check()
    admin.get_by_role("button", name=t(language, "Erase this participant")).click()
    expect(admin.get_by_role("status")).to_have_text(
        t(language, "The participant's account is erased."))
    visitor.reload()
    expect(visitor.locator(reviews)).to_contain_text(average)
    expect(visitor.locator(reviews)).to_contain_text(t(language, "Former participant"))
    expect(visitor.locator(reviews)).not_to_contain_text("Ann M.")
    expect(visitor.locator(reviews)).not_to_contain_text("Clair, concret et utile.")
    assert found == []
