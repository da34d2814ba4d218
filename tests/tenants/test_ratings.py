"""Ratings and reviews: who may rate and when, bad input and abuse, moderation, display with the
threshold of 5, visibility, reports, statistics, attendance, and the event page's SQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm.attributes import set_committed_value

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.ratings import services
from tenants.ratings.models import Rating, RatingReport
from tenants.registration.models import Registration
from tests import factories
from tests.fixtures.people import english, sign_in_member, sign_in_participant
from tests.tenants.ratings_helpers import (
    all_ratings,
    attendee,
    configure,
    past_event,
    people,
    rating,
    ratings,
)
from tests.tenants.registration_helpers import person

HOSTILE = '<img src=x onerror="alert(1)">'


def rater(app, event_id: int, email: str = "ann@example.org", *,  # type: ignore[no-untyped-def]
          attended: bool = True, status: str = "confirmed"):
    """A signed-in participant (English) registered to ``event_id``."""
    pid = person("acme", email, first_name="Ann", last_name="Martin")
    attendee("acme", event_id, pid, attended=attended, status=status)
    return english(sign_in_participant(app.test_client(), "acme", pid)), pid


def post_rating(client, event_id: int, stars: object = 4, comment: str = "",  # type: ignore[no-untyped-def]
                slug: str = "acme", mode: str = "new"):
    return client.post(f"/t/{slug}/events/{event_id}/rating",
                       data={"stars": stars, "comment": comment, "mode": mode})


def edit_rating(client, event_id: int, stars: object, comment: str = ""):  # type: ignore[no-untyped-def]
    return post_rating(client, event_id, stars, comment, mode="edit")


def count(model: type) -> int:
    from sqlalchemy import func, select

    with tenants_api.tenant_context("acme") as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --- rating an event ------------------------------------------------------------------------


def test_an_attendee_rates_after_the_end_and_edits(app, client) -> None:  # type: ignore[no-untyped-def]
    configure("acme", ratings_premoderate_comments=False)
    event_id = past_event("acme")
    me, pid = rater(app, event_id)
    page = me.get(f"/t/acme/events/{event_id}")
    assert "Rate this event" in page.text
    response = post_rating(me, event_id, 4, "Clear and useful.")
    assert response.status_code == 303
    assert all_ratings("acme") == [(pid, 4, "Clear and useful.", "published")]
    page = me.get(f"/t/acme/events/{event_id}")
    assert "Thank you: your rating is saved." in page.text
    assert "Ann M." in page.text and "Clear and useful." in page.text
    assert "Change your rating" in page.text
    assert "Change my rating" in me.get(f"/t/acme/events/{event_id}/rating").text
    assert edit_rating(me, event_id, 2, "On second thoughts, too fast.").status_code == 303
    assert all_ratings("acme") == [(pid, 2, "On second thoughts, too fast.", "published")]
    assert "Your rating is changed." in me.get(f"/t/acme/events/{event_id}").text


def test_comments_are_held_for_moderation_and_star_only_ratings_published(app) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    me, _ = rater(app, event_id)
    post_rating(me, event_id, 5, "Great")
    assert all_ratings("acme")[0][3] == "pending"
    page = me.get(f"/t/acme/events/{event_id}").text
    assert "A moderator will check" in page
    assert "Great" in page  # the author sees their own comment, and no one else yet
    assert "Great" not in app.test_client().get(f"/t/acme/events/{event_id}").text
    edit_rating(me, event_id, 5, "")  # the comment withdrawn: stars only, published at once
    assert all_ratings("acme")[0][3] == "published"
    configure("acme", ratings_autopublish_stars=False)
    edit_rating(me, event_id, 3, "")
    assert all_ratings("acme")[0][3] == "pending"


def test_confirmed_registrants_may_rate_when_the_tenant_allows_it(app) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    me, _ = rater(app, event_id, attended=False)
    response = post_rating(me, event_id, 4)
    assert response.status_code == 403
    assert "Only participants who attended this event can rate it." in response.text
    configure("acme", ratings_raters="confirmed")
    assert post_rating(me, event_id, 4).status_code == 303
    assert len(all_ratings("acme")) == 1


@pytest.mark.parametrize(("case", "status", "message"), [
    ("not registered", 403, "Only participants who attended"),
    ("registered, not attended", 403, "Only participants who attended"),
    ("future event", 409, "once it has ended"),
    ("window over", 409, "The time for rating this event is over."),
    ("cancelled event", 409, "This event cannot be rated."),
    ("twice", 409, "already rated"),
])
def test_ratings_that_are_refused_store_nothing(app, case: str, status: int,  # type: ignore[no-untyped-def]
                                                message: str) -> None:
    event_id = {
        "future event": lambda: factories.event("acme"),
        "window over": lambda: past_event("acme", ended=timedelta(days=31)),
        "cancelled event": lambda: past_event("acme", status="cancelled"),
    }.get(case, lambda: past_event("acme"))()
    pid = person("acme", "bob@example.org")
    if case != "not registered":
        attendee("acme", event_id, pid, attended=case != "registered, not attended")
    me = english(sign_in_participant(app.test_client(), "acme", pid))
    if case == "twice":
        assert post_rating(me, event_id, 5).status_code == 303
    before = all_ratings("acme")
    response = post_rating(me, event_id, 1, "Bad")
    assert response.status_code == status
    assert message in response.text
    assert all_ratings("acme") == before


def test_another_tenants_event_is_not_rateable(app) -> None:  # type: ignore[no-untyped-def]
    acme_event = past_event("acme")
    me, _ = rater(app, acme_event)
    globex_event = past_event("globex")
    while globex_event <= acme_event:  # an id that acme does not have
        globex_event = past_event("globex")
    assert post_rating(me, globex_event, 5).status_code == 404
    # acme's signed-in participant on globex's address is nobody there: sent to sign in.
    response = post_rating(me, globex_event, 5, slug="globex")
    assert response.status_code == 303 and "/t/globex/login" in response.headers["Location"]
    assert all_ratings("globex") == [] and all_ratings("acme") == []


def test_the_edit_window_and_a_hidden_review_close_editing(app) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    me, pid = rater(app, event_id)
    [rating_id] = ratings("acme", event_id, [4], participant_ids=[pid])
    with tenants_api.tenant_context("acme") as session:
        session.get(Rating, rating_id).created_at -= timedelta(days=31)
    response = edit_rating(me, event_id, 1, "Changed")
    assert response.status_code == 409 and "The time for changing your rating is over." in (
        response.text)
    assert all_ratings("acme") == [(pid, 4, "Good", "published")]


@pytest.mark.parametrize(("stars", "comment", "message"), [
    ("0", "", "Choose between 1 and 5 stars."),
    ("6", "", "Choose between 1 and 5 stars."),
    ("four", "", "Choose between 1 and 5 stars."),
    ("", "", "Choose between 1 and 5 stars."),
    ("4", "x" * 100_000, "At most 2000 characters"),
    ("4", "Nice <script>alert(1)</script>", "plain text"),
    ("4", HOSTILE, "plain text"),
])
def test_bad_input_gives_a_clear_error_and_stores_nothing(app, stars: str, comment: str,  # type: ignore[no-untyped-def]
                                                          message: str) -> None:
    event_id = past_event("acme")
    me, _ = rater(app, event_id)
    response = post_rating(me, event_id, stars, comment)
    assert response.status_code == 422
    assert message in response.text
    assert "<script>alert" not in response.text and "<img src=x" not in response.text
    assert all_ratings("acme") == []


def test_errors_are_translated_into_french(app) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    pid = person("acme", "fr@example.org", language="fr")
    attendee("acme", event_id, pid)
    me = sign_in_participant(app.test_client(), "acme", pid)
    response = post_rating(me, event_id, 9, "<b>x</b>")
    assert response.status_code == 422
    assert "Choisissez entre 1 et 5 étoiles." in response.text
    assert "texte brut" in response.text


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stars=st.one_of(st.text(max_size=20), st.integers().map(str)),
       comment=st.text(max_size=3000))
@example(stars="3", comment="\u202e\u0000")
@example(stars="99999999999999999999999", comment="")
def test_junk_never_500s_and_only_valid_ratings_are_stored(app, stars: str,  # type: ignore[no-untyped-def]
                                                           comment: str) -> None:
    event_id = past_event("acme")
    me, _ = rater(app, event_id, f"junk{event_id}@example.org")
    response = post_rating(me, event_id, stars, comment)
    assert response.status_code in (303, 400, 422)
    stored = [r for r in all_ratings("acme")]
    if response.status_code == 303:
        assert len(stored) == 1 and 1 <= stored[0][1] <= 5
    else:
        assert stored == []
    with tenants_api.tenant_context("acme") as session:
        from sqlalchemy import delete

        session.execute(delete(Rating))


def test_the_rating_service_refuses_what_the_form_would(ctx) -> None:  # type: ignore[no-untyped-def]
    for stars, comment in [(0, ""), (6, ""), (True, ""), ("4", ""), (3, "x" * 2001),
                           (3, "<svg onload=x>")]:
        with pytest.raises(services.RatingError):
            services.check_input(stars, comment)
    assert services.check_input(5, "  a < b and 3 > 2  ") == "a < b and 3 > 2"


# --- display --------------------------------------------------------------------------------


def test_the_average_appears_from_the_fifth_rating(client) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    ratings("acme", event_id, [5, 4, 3, 4])
    english(client)
    page = client.get(f"/t/acme/events/{event_id}").text
    assert "Not enough ratings yet" in page and "Average rating" not in page
    ratings("acme", event_id, [2], participant_ids=people("acme", 1, start=900))
    page = client.get(f"/t/acme/events/{event_id}").text
    assert "Average rating: 3.6 out of 5, from 5 ratings." in page
    assert "Not enough ratings yet" not in page


def test_held_and_hidden_ratings_do_not_count_and_the_page_says_one_was_hidden(client) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    ratings("acme", event_id, [5, 5, 5, 5])
    ratings("acme", event_id, [1], status="pending", participant_ids=people("acme", 1, 700))
    ratings("acme", event_id, [1], status="hidden", participant_ids=people("acme", 1, 800))
    page = english(client).get(f"/t/acme/events/{event_id}").text
    assert "Not enough ratings yet" in page
    assert "1 review was hidden by the moderators." in page


def test_each_review_shows_its_dates_and_first_name_and_initial_escaped(client) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    pid = person("acme", "eve@example.org", first_name=HOSTILE, last_name="Dupont")
    ratings("acme", event_id, [4], comment=HOSTILE + " & more", participant_ids=[pid])
    page = english(client).get(f"/t/acme/events/{event_id}").text
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; D." in page
    assert "&amp; more" in page
    assert "Dupont" not in page and "eve@example.org" not in page
    assert page.count("Reviewed on ") == 1 and "event of " in page


def test_star_only_ratings_count_but_are_not_listed(client) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    ratings("acme", event_id, [5, 4, 4, 4, 4], comment="")
    page = english(client).get(f"/t/acme/events/{event_id}").text
    assert "from 5 ratings" in page
    assert "First" not in page and "No written reviews yet." in page


def test_reviews_are_ordered_as_chosen_and_paginated(client) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    ids = ratings("acme", event_id, [3, 1, 5] + [4] * 8)
    english(client)
    default = client.get(f"/t/acme/events/{event_id}").text
    assert "Reviews in this order: Newest first." in default
    assert f'id="review-{ids[9]}"' in default and f'id="review-{ids[10]}"' not in default
    highest = client.get(f"/t/acme/events/{event_id}?order=highest").text
    assert highest.index(f'"review-{ids[2]}"') < highest.index(f'"review-{ids[0]}"')
    assert "Highest rated first" in highest
    lowest = client.get(f"/t/acme/events/{event_id}?order=lowest").text
    assert lowest.index(f'"review-{ids[1]}"') < lowest.index(f'"review-{ids[0]}"')
    second = client.get(f"/t/acme/events/{event_id}?page=2").text
    assert f'id="review-{ids[10]}"' in second and "Previous reviews" in second
    for junk in ("?order=%00", "?order=<x>", "?page=-3", "?page=abc", "?page=99999999999"):
        assert client.get(f"/t/acme/events/{event_id}{junk}").status_code in (200, 400)
    configure("acme", ratings_order="lowest")
    assert "Reviews in this order: Lowest rated first." in client.get(
        f"/t/acme/events/{event_id}").text


@pytest.mark.parametrize("visibility", ["public", "participants", "staff"])
def test_visibility_per_tenant(app, visibility: str) -> None:  # type: ignore[no-untyped-def]
    configure("acme", ratings_visibility=visibility)
    event_id = past_event("acme")
    [rating_id, *_] = ratings("acme", event_id, [5, 4, 4, 4, 4], comment="Visible?")
    visitor = english(app.test_client())
    participant = english(sign_in_participant(app.test_client(), "acme",
                                              person("acme", "p@example.org")))
    member = sign_in_member(app.test_client(), "acme", "viewer", in_english=True)
    seen = {name: "Visible?" in c.get(f"/t/acme/events/{event_id}").text
            for name, c in [("visitor", visitor), ("participant", participant),
                            ("staff", member)]}
    assert seen == {"visitor": visibility == "public",
                    "participant": visibility in ("public", "participants"), "staff": True}
    assert visitor.get(f"/t/acme/ratings/{rating_id}/report").status_code == (
        200 if visibility == "public" else 404)


def test_tenant_summary_and_how_reviews_work_follow_the_settings(client) -> None:  # type: ignore[no-untyped-def]
    first, second = past_event("acme"), past_event("acme", ended=timedelta(days=2))
    ratings("acme", first, [5, 5, 5])
    ratings("acme", second, [3, 3], participant_ids=people("acme", 2, 500))
    english(client)
    summary = client.get("/t/acme/ratings").text
    assert "All events: 4.2 out of 5, from 5 ratings." in summary
    assert summary.count("Not enough ratings yet") == 2  # neither event has 5 on its own
    policy = client.get("/t/acme/ratings/how-it-works").text
    assert "Only participants whose attendance at the event was recorded" in policy
    assert "for 30 days" in policy and "checked by a moderator before" in policy
    assert "shown to everyone" in policy and "from 5 ratings" in policy
    assert "Report" in policy and "Former participant" in policy and "36 months" in policy
    configure("acme", ratings_raters="confirmed", ratings_window_days=10,
              ratings_edit_days=0, ratings_premoderate_comments=False,
              ratings_visibility="staff", ratings_order="highest")
    policy = client.get("/t/acme/ratings/how-it-works").text
    assert "does not need to record their attendance" in policy
    assert "for 10 days" in policy and "cannot be changed once posted" in policy
    assert "published at once; moderators check them afterwards" in policy
    assert "team only" in policy and "Highest rated first" in policy
    assert "not shown to you" in client.get("/t/acme/ratings").text


def test_french_event_page_and_policy(client) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    ratings("acme", event_id, [5, 4, 4, 4, 4])
    page = client.get(f"/t/acme/events/{event_id}").text
    assert "Note moyenne : 4,2 sur 5, sur 5 notes." in page
    assert "Comment fonctionnent les avis" in client.get("/t/acme/ratings/how-it-works").text


# --- reports and moderation -----------------------------------------------------------------


def test_anyone_reports_a_review_and_it_reaches_the_queue(app, client) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    [rating_id] = ratings("acme", event_id, [1], comment="Rubbish")
    english(client)
    assert "Report" in client.get(f"/t/acme/ratings/{rating_id}/report").text
    response = client.post(f"/t/acme/ratings/{rating_id}/report",
                           data={"reason": "offensive", "details": "Rude."})
    assert response.status_code == 200 and "the moderators will look" in response.text
    # The same reporter again: no second report.
    client.post(f"/t/acme/ratings/{rating_id}/report", data={"reason": "spam"})
    assert count(RatingReport) == 1
    moderator = sign_in_member(app.test_client(), "acme", "moderator", in_english=True)
    queue = moderator.get("/t/acme/admin/ratings").text
    assert "Rubbish" in queue and "Insulting, hateful or offensive: 1." in queue


@pytest.mark.parametrize("data", [{"reason": "nonsense"}, {}, {"reason": "other",
                                                               "details": "y" * 600},
                                  {"reason": "other", "details": "<script>x</script>"}])
def test_bad_reports_are_refused(client, data: dict) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    [rating_id] = ratings("acme", event_id, [1])
    response = english(client).post(f"/t/acme/ratings/{rating_id}/report", data=data)
    assert response.status_code == 422
    assert count(RatingReport) == 0


def test_reports_are_rate_limited(client) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    ids = ratings("acme", event_id, [1] * (services.REPORTS_PER_HOUR + 1))
    english(client)
    for rating_id in ids[:-1]:
        assert client.post(f"/t/acme/ratings/{rating_id}/report",
                           data={"reason": "spam"}).status_code == 200
    response = client.post(f"/t/acme/ratings/{ids[-1]}/report", data={"reason": "spam"})
    assert response.status_code == 429 and "Too many reports" in response.text
    assert count(RatingReport) == services.REPORTS_PER_HOUR


def test_only_published_visible_reviews_can_be_reported(client) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    [held] = ratings("acme", event_id, [1], status="pending")
    assert client.post(f"/t/acme/ratings/{held}/report",
                       data={"reason": "spam"}).status_code == 404
    assert client.post("/t/acme/ratings/999999/report", data={"reason": "spam"}).status_code \
        == 404
    assert count(RatingReport) == 0


def test_a_moderator_hides_with_a_reason_and_the_author_is_told(app, outbox) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    pid = person("acme", "author@example.org", first_name="Paul")
    [rating_id] = ratings("acme", event_id, [1], comment="Insulting words",
                          participant_ids=[pid])
    moderator = sign_in_member(app.test_client(), "acme", "moderator", in_english=True)
    response = moderator.post(f"/t/acme/admin/ratings/{rating_id}/hide", data={"reason": ""})
    assert response.status_code == 422 and "Give the reason" in response.text
    assert rating("acme", rating_id).status == "published"
    response = moderator.post(f"/t/acme/admin/ratings/{rating_id}/hide",
                              data={"reason": "Insults are not allowed."},
                              headers={"HX-Request": "true"})
    assert response.status_code == 200 and "its author is told why" in response.text
    hidden = rating("acme", rating_id)
    assert (hidden.status, hidden.hidden_reason) == ("hidden", "Insults are not allowed.")
    [message] = [m for m in outbox.messages if m["To"] == "author@example.org"]
    assert "Your review was hidden" in message["Subject"]
    assert "Insults are not allowed." in message.get_body(("plain",)).get_content()
    page = english(app.test_client()).get(f"/t/acme/events/{event_id}").text
    assert "Insulting words" not in page and "1 review was hidden" in page
    # Hiding twice: nothing more happens, no second e-mail.
    again = moderator.post(f"/t/acme/admin/ratings/{rating_id}/hide", data={"reason": "x"})
    assert again.status_code == 409
    assert len([m for m in outbox.messages if m["To"] == "author@example.org"]) == 1


def test_a_hidden_review_never_reappears_after_edits(app) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    me, pid = rater(app, event_id)
    [rating_id] = ratings("acme", event_id, [1], comment="Bad words", participant_ids=[pid])
    moderator = sign_in_member(app.test_client(), "acme", "moderator", in_english=True)
    moderator.post(f"/t/acme/admin/ratings/{rating_id}/hide", data={"reason": "Rude"})
    response = edit_rating(me, event_id, 5, "Polite now")
    assert response.status_code == 409 and "hidden by a moderator" in response.text
    assert all_ratings("acme") == [(pid, 1, "Bad words", "hidden")]
    # Even an edit racing with the hiding (read as published just before) is refused.
    with app.app_context(), tenants_api.tenant_context("acme") as session:
        stale = session.get(Rating, rating_id)
        set_committed_value(stale, "status", "published")
        with pytest.raises(services.RatingError):
            services.edit(session, stale, 5, "Polite now")
    assert all_ratings("acme") == [(pid, 1, "Bad words", "hidden")]
    page = me.get(f"/t/acme/events/{event_id}").text
    assert "A moderator hid your review. Reason: Rude" in page
    assert "Change your rating" not in page


def test_publishing_a_held_review_and_keeping_a_reported_one(app) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    [held] = ratings("acme", event_id, [4], comment="Held", status="pending")
    [kept] = ratings("acme", event_id, [2], comment="Reported",
                     participant_ids=people("acme", 1, 600))
    english(app.test_client()).post(f"/t/acme/ratings/{kept}/report", data={"reason": "false"})
    moderator = sign_in_member(app.test_client(), "acme", "manager", in_english=True)
    assert moderator.post(f"/t/acme/admin/ratings/{held}/publish").status_code == 303
    assert moderator.post(f"/t/acme/admin/ratings/{kept}/publish").status_code == 303
    assert rating("acme", held).status == "published"
    assert "Nothing to moderate." in moderator.get("/t/acme/admin/ratings").text


@pytest.mark.parametrize(("role", "expected"), [("viewer", 403), ("moderator", 200),
                                                ("manager", 200), ("owner", 200)])
def test_the_queue_is_for_moderators_and_above(app, role: str, expected: int) -> None:  # type: ignore[no-untyped-def]
    member = sign_in_member(app.test_client(), "acme", role, in_english=True)
    assert member.get("/t/acme/admin/ratings").status_code == expected
    assert app.test_client().get("/t/acme/admin/ratings").status_code in (302, 401)


def test_moderating_another_tenants_rating_is_a_404(app) -> None:  # type: ignore[no-untyped-def]
    [globex_rating] = ratings("globex", past_event("globex"), [3])
    moderator = sign_in_member(app.test_client(), "acme", "moderator", in_english=True)
    assert moderator.post(f"/t/acme/admin/ratings/{globex_rating}/hide",
                          data={"reason": "x"}).status_code == 404
    assert rating("globex", globex_rating).status == "published"


# --- statistics and attendance --------------------------------------------------------------


def test_statistics_suppress_small_counts(app) -> None:  # type: ignore[no-untyped-def]
    big, small = past_event("acme"), past_event("acme", ended=timedelta(days=3))
    raters = people("acme", 7, 300)
    for pid in raters:
        attendee("acme", big, pid)
    ratings("acme", big, [5, 5, 4, 3, 1], participant_ids=raters[:5])
    ratings("acme", small, [2, 2], participant_ids=raters[5:7])
    member = sign_in_member(app.test_client(), "acme", "viewer", in_english=True)
    page = member.get("/t/acme/admin/ratings/statistics").text
    assert "<td>2</td><td>1</td><td>1</td><td>0</td><td>1</td>" in page.replace("\n", "") \
        .replace("        ", "")
    assert "71%" in page  # 5 ratings from 7 attendees
    assert "Fewer than 5 ratings: not shown." in page


def test_managers_mark_attendance_one_by_one_and_in_bulk(app) -> None:  # type: ignore[no-untyped-def]
    event_id = past_event("acme")
    pids = people("acme", 3, 400)
    regs = [attendee("acme", event_id, pid, attended=False) for pid in pids]
    future = factories.event("acme")
    manager = sign_in_member(app.test_client(), "acme", "manager", in_english=True)
    roster = manager.get(f"/t/acme/admin/events/{event_id}/registrations").text
    assert 'form="attendance-bulk"' in roster
    url = f"/t/acme/admin/events/{event_id}/attendance"
    response = manager.post(url, data={"registration": regs[0], "attended": "1"},
                            headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Not attended" in response.text
    assert manager.post(url, data={"registration": regs[1:], "attended": "1"}).status_code == 303
    with tenants_api.tenant_context("acme") as session:
        assert all(session.get(Registration, r).attended_at for r in regs)
    assert manager.post(url, data={"registration": regs[2], "attended": "0"}).status_code == 303
    with tenants_api.tenant_context("acme") as session:
        assert session.get(Registration, regs[2]).attended_at is None
    for bad in ({"registration": "abc", "attended": "1"}, {"attended": "1"},
                {"registration": regs[0], "attended": "maybe"}):
        assert manager.post(url, data=bad).status_code in (400, 422)
    assert manager.post(f"/t/acme/admin/events/{future}/attendance",
                        data={"registration": regs[0], "attended": "1"}).status_code == 409
    viewer = sign_in_member(app.test_client(), "acme", "viewer", in_english=True)
    assert viewer.post(url, data={"registration": regs[2], "attended": "1"}).status_code == 403


def test_attendance_ignores_other_events_and_tenants(app) -> None:  # type: ignore[no-untyped-def]
    event_id, other = past_event("acme"), past_event("acme")
    [pid] = people("acme", 1, 450)
    foreign = attendee("acme", other, pid, attended=False)
    manager = sign_in_member(app.test_client(), "acme", "manager", in_english=True)
    manager.post(f"/t/acme/admin/events/{event_id}/attendance",
                 data={"registration": foreign, "attended": "1"})
    with tenants_api.tenant_context("acme") as session:
        assert session.get(Registration, foreign).attended_at is None


# --- SQL per page ---------------------------------------------------------------------------


def test_the_event_page_sql_does_not_grow_with_ratings(app, statements) -> None:  # type: ignore[no-untyped-def]
    few, many = past_event("acme"), past_event("acme")
    ratings("acme", few, [4, 5])
    ratings("acme", many, [1, 2, 3, 4, 5] * 12, participant_ids=people("acme", 60, 1000))
    me, pid = rater(app, many)
    attendee("acme", few, pid)
    counts = {}
    visitor = english(app.test_client())
    for event_id in (few, many):
        for who, client in (("visitor", visitor), ("participant", me)):
            # Warm caches (settings, catalogues), then a path no visitor's page copy holds.
            client.get(f"/t/acme/events/{event_id}?warm={who}")
            with statements:
                assert client.get(f"/t/acme/events/{event_id}?n={who}").status_code == 200
            counts[event_id, who] = statements.count
    assert counts[few, "visitor"] == counts[many, "visitor"]
    assert counts[few, "participant"] == counts[many, "participant"]


# --- the ratings settings -------------------------------------------------------------------

SETTINGS = "/t/acme/admin/settings/ratings"
VALID = {"ratings_raters": "confirmed", "ratings_window_days": "14", "ratings_edit_days": "0",
         "ratings_autopublish_stars": "y", "ratings_visibility": "participants",
         "ratings_order": "highest"}


def stored_settings() -> dict[str, object]:
    from tenants.settings import services as settings_services

    with tenants_api.tenant_context("acme") as session:
        current = settings_services.get(session)
        return {name: getattr(current, name) for name in settings_services.RATINGS_KEYS}


def test_admins_set_the_ratings_policy(app) -> None:  # type: ignore[no-untyped-def]
    admin = sign_in_member(app.test_client(), "acme", "admin", in_english=True)
    page = admin.get("/t/acme/admin/settings").text
    assert "Ratings and reviews" in page and 'value="30"' in page
    response = admin.post(SETTINGS, data=VALID)
    assert response.status_code == 303
    assert "The ratings settings are saved." in admin.get(response.headers["Location"]).text
    assert stored_settings() == {
        "ratings_raters": "confirmed", "ratings_window_days": 14, "ratings_edit_days": 0,
        "ratings_autopublish_stars": True, "ratings_premoderate_comments": False,
        "ratings_visibility": "participants", "ratings_order": "highest"}
    fragment = admin.post(SETTINGS, data={**VALID, "ratings_window_days": "7"},
                          headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert stored_settings()["ratings_window_days"] == 7
    viewer = sign_in_member(app.test_client(), "acme", "viewer", in_english=True)
    assert viewer.post(SETTINGS, data=VALID).status_code == 403


@pytest.mark.parametrize(("field", "value", "message"), [
    ("ratings_window_days", "0", "Between 1 and 365 days."),
    ("ratings_window_days", "366", "Between 1 and 365 days."),
    ("ratings_edit_days", "-1", "Between 0 and 365 days."),
    ("ratings_edit_days", "abc", "days"),
    ("ratings_window_days", "", "Enter a number of days."),
    ("ratings_visibility", "everyone", "Not a valid choice"),
    ("ratings_raters", "anyone", "Not a valid choice"),
    ("ratings_order", "random", "Not a valid choice"),
])
def test_ratings_settings_out_of_bounds_change_nothing(app, field: str, value: str,  # type: ignore[no-untyped-def]
                                                       message: str) -> None:
    admin = sign_in_member(app.test_client(), "acme", "admin", in_english=True)
    before = stored_settings()
    response = admin.post(SETTINGS, data={**VALID, field: value})
    assert response.status_code == 422
    assert message in response.text
    assert stored_settings() == before


def test_the_settings_service_checks_bounds_too(ctx) -> None:  # type: ignore[no-untyped-def]
    from tenants.settings import services as settings_services

    with tenants_api.tenant_context("acme") as session:
        for bad in ({"ratings_window_days": 0}, {"ratings_edit_days": True},
                    {"ratings_visibility": "all"}, {"ratings_autopublish_stars": "yes"},
                    {"unknown": 1}):
            with pytest.raises(ValueError):
                settings_services.update_ratings(session, **bad)


def test_the_kept_counts_always_match_the_ratings(app) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from tenants.ratings.models import RatingCount

    def counts() -> tuple[dict, dict]:
        with tenants_api.tenant_context("acme") as session:
            kept = {(s, n): c for s, n, c in session.execute(
                select(RatingCount.status, RatingCount.stars, RatingCount.ratings)) if c}
            real = dict(((s, n), c) for s, n, c in session.execute(
                select(Rating.status, Rating.stars, func.count())
                .group_by(Rating.status, Rating.stars)))
            return kept, real

    event_id = past_event("acme")
    moderator = sign_in_member(app.test_client(), "acme", "moderator", in_english=True)
    clients = [rater(app, event_id, f"c{i}@example.org")[0] for i in range(3)]
    post_rating(clients[0], event_id, 5, "Held first")
    post_rating(clients[1], event_id, 2)
    post_rating(clients[2], event_id, 4, "Also held")
    edit_rating(clients[1], event_id, 3, "Now with a comment")
    edit_rating(clients[0], event_id, 1)
    with tenants_api.tenant_context("acme") as session:
        held = list(session.scalars(select(Rating.id).where(Rating.status == "pending")))
    moderator.post(f"/t/acme/admin/ratings/{held[0]}/publish")
    moderator.post(f"/t/acme/admin/ratings/{held[1]}/hide", data={"reason": "No"})
    kept, real = counts()
    assert kept == real and sum(real.values()) == 3


@pytest.mark.parametrize("reason", ["x" * 100_000, "<script>alert(1)</script>", "   "])
def test_a_bad_hiding_reason_hides_nothing(app, reason: str) -> None:  # type: ignore[no-untyped-def]
    [rating_id] = ratings("acme", past_event("acme"), [2], comment=HOSTILE)
    moderator = sign_in_member(app.test_client(), "acme", "moderator", in_english=True)
    response = moderator.post(f"/t/acme/admin/ratings/{rating_id}/hide", data={"reason": reason},
                              headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "<img src=x" not in response.text and "<script>alert" not in response.text
    assert rating("acme", rating_id).status == "published"


def test_the_queue_and_the_report_page_escape_comments(app, client) -> None:  # type: ignore[no-untyped-def]
    [rating_id] = ratings("acme", past_event("acme"), [2], comment=HOSTILE, status="pending")
    queue = sign_in_member(app.test_client(), "acme", "moderator", in_english=True).get(
        "/t/acme/admin/ratings").text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in queue and "<img src=x" not in queue
    with tenants_api.tenant_context("acme") as session:
        session.get(Rating, rating_id).status = "published"
        services.recount(session, session.get(Rating, rating_id).event_id)
    page = client.get(f"/t/acme/ratings/{rating_id}/report").text
    assert "&lt;img src=x" in page and "<img src=x" not in page


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reason=st.one_of(st.text(max_size=30), st.sampled_from(["spam", "other", ""])),
       details=st.text(max_size=800))
def test_junk_reports_never_500(app, reason: str, details: str) -> None:  # type: ignore[no-untyped-def]
    [rating_id] = ratings("acme", past_event("acme"), [3])
    client = english(app.test_client())
    response = client.post(f"/t/acme/ratings/{rating_id}/report",
                           data={"reason": reason, "details": details})
    assert response.status_code in (200, 400, 422)
    assert count(RatingReport) == (1 if response.status_code == 200 else 0)
    with tenants_api.tenant_context("acme") as session:
        from sqlalchemy import delete

        session.execute(delete(RatingReport))


def test_an_upcoming_events_page_reads_no_rating(app, client, statements) -> None:  # type: ignore[no-untyped-def]
    """Nobody may rate before the end (eligibility "not_ended"), so the page of an event to
    come sends no query about ratings; an ended one does."""
    upcoming = factories.event("acme")
    english(client)
    with statements:
        page = client.get(f"/t/acme/events/{upcoming}")
    assert page.status_code == 200 and "Ratings and reviews" in page.text
    assert not [s for s in statements.statements if "from t_acme.ratings" in s.lower()]
    start = utcnow() - timedelta(days=2)
    ended = factories.event("acme", starts_at=start, ends_at=start + timedelta(hours=2))
    with statements:
        assert client.get(f"/t/acme/events/{ended}").status_code == 200
    assert [s for s in statements.statements if "from t_acme.ratings" in s.lower()]
