"""Ratings pages: the event page's reviews section, rating an event, reporting a review, the
moderation queue, the statistics, the tenant's summary and the "How reviews work" page.

Who sees reviews follows the tenant's visibility setting; moderation needs the moderator role
(or above); every action is a POST form with CSRF that htmx may enhance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from flask import Blueprint, Response, abort, flash, g, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response as BaseResponse

from core.clock import utcnow
from core.web import throttle
from core.web.errors import error_page
from core.web.htmx import render, render_block, template_globals, wants_fragment
from core.web.pagination import requested_page
from tenants import access, db
from tenants.events import services as events
from tenants.events.models import Event
from tenants.events.wording import event_moment, event_when
from tenants.participants import services as participants
from tenants.participants.models import Participant
from tenants.ratings import services
from tenants.ratings.forms import (
    REPORT_REASON_LABELS,
    STARS_LABELS,
    ModerationForm,
    RatingForm,
    ReportForm,
)
from tenants.ratings.models import Rating
from tenants.settings import services as settings
from tenants.settings.forms import RATING_ORDER_LABELS as ORDER_LABELS
from tenants.texts import pick

bp = Blueprint("ratings", __name__, template_folder="templates")
ID = "int(min=1, max=2147483647)"
STATS_PAGE = 50

# Why a participant may not rate (or edit), for them; status code and message.
RATING_ERRORS = {
    "not_rateable": (409, _l("This event cannot be rated.")),
    "not_ended": (409, _l("You can rate this event once it has ended.")),
    "window_closed": (409, _l("The time for rating this event is over.")),
    "not_attended": (403, _l("Only participants who attended this event can rate it.")),
    "not_confirmed": (403, _l("Only participants whose registration to this event was "
                              "confirmed can rate it.")),
    "already_rated": (409, _l("You have already rated this event; you can change your "
                              "rating instead.")),
    "edit_closed": (409, _l("The time for changing your rating is over.")),
    "hidden": (409, _l("Your review was hidden by a moderator and can no longer be "
                       "changed.")),
}


def _language() -> str:
    return str(get_locale() or "fr")


def day(moment: datetime, event: Event) -> str:
    """A date in the event's time zone, e.g. "15 January 2031"."""
    return format_date(moment.astimezone(ZoneInfo(event.timezone)), "long", locale=_language())


def _helpers() -> dict[str, Any]:
    language, default = _language(), settings.languages(db.session())[0]
    return {"text": lambda texts: pick(texts, language, default), "event_when": event_when,
            "event_moment": event_moment, "day": day, "stars_labels": STARS_LABELS,
            "order_labels": ORDER_LABELS, "reason_labels": REPORT_REASON_LABELS,
            "threshold": services.THRESHOLD}


def _me() -> Participant | None:
    return participants.current(db.session()) if g.get("tenant") else None


def _visible_event(event_id: int) -> Event:
    event = events.get_visible(db.session(), event_id, staff=access.has_role("viewer"))
    if event is None:
        abort(404)
    return event


def _may_read() -> bool:
    return services.may_read(db.session(), staff=access.has_role("viewer"), participant=_me())


def _order_and_page() -> tuple[str, int]:
    default = settings.get(db.session()).ratings_order
    order = request.args.get("order", default)
    if order not in services.ORDERS:
        order = default
    page = request.args.get("page", 1, type=int) or 1
    return order, min(max(page, 1), services.MAX_PAGE)


# --- the event page's section ---------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """What the event page shows about ratings, for this reader."""

    readable: bool  # reviews are shown to this reader
    summary: services.Summary
    reviews: list[services.Review]
    has_next: bool
    order: str
    page: int
    mine: Rating | None  # the signed-in participant's rating
    refusal: str | None  # why they may not rate (a RATING_ERRORS code), if they may not
    can_edit: bool


def ratings_section(event: Event) -> Section:
    """``ratings_section(event)`` for the event page (with ``day(moment, event)`` and the
    labels and number formats below)."""
    session = db.session()
    me = _me()
    readable = services.may_read(session, staff=access.has_role("viewer"), participant=me)
    order, page = _order_and_page()
    found: list[services.Review] = []
    summary, has_next = services.Summary(), False
    if utcnow() < event.ends_at:  # nobody may rate before the end: nothing to read
        return Section(readable, summary, found, False, order, page, None,
                       "not_ended" if me is not None else None, False)
    if readable:
        summary = services.summary(session, event.id)
        found, has_next = services.reviews(session, event.id, order, page)
    mine = services.for_event(session, event.id, me.id) if me else None
    refusal, can_edit = None, False
    if me is not None and mine is None:
        refusal = services.eligibility(session, event, me)
    elif mine is not None:
        can_edit = mine.status != "hidden" and services.edit_deadline(session, mine) >= utcnow()
    return Section(readable, summary, found, has_next, order, page, mine, refusal, can_edit)


def rating_number(value: float) -> str:
    return format_decimal(value, "0.0", locale=_language())


def rating_percent(value: float) -> str:
    return format_percent(value, locale=_language())


template_globals(bp, ratings_section=ratings_section, day=day, rating_number=rating_number,
                 rating_percent=rating_percent, stars_labels=STARS_LABELS,
                 order_labels=ORDER_LABELS, rating_threshold=services.THRESHOLD)


# --- participants ---------------------------------------------------------------------------


def _rating_page(event: Event, form: RatingForm, mine: Rating | None, *,
                 refusal: str | None = None, status: int = 200) -> Response:
    message = str(RATING_ERRORS[refusal][1]) if refusal else None
    return render("ratings/rate.html", status=status, event=event, form=form, mine=mine,
                  refusal=message, **_helpers())


@bp.route(f"/events/<{ID}:event_id>/rating", methods=["GET", "POST"])
def rate(event_id: int):
    event = _visible_event(event_id)
    me = _me()
    if me is None:
        return redirect(url_for("tenant.participants.login", next=request.path), code=303)
    session = db.session()
    mine = services.for_event(session, event.id, me.id)
    if request.method == "GET":
        form = RatingForm(data={"stars": mine.stars, "comment": mine.comment, "mode": "edit"}
                          if mine else None)
        refusal = None
        if mine is None:
            refusal = services.eligibility(session, event, me)
        elif mine.status == "hidden":
            refusal = "hidden"
        elif services.edit_deadline(session, mine) < utcnow():
            refusal = "edit_closed"
        return _rating_page(event, form, mine, refusal=refusal)
    form = RatingForm()
    if not form.validate():
        return _rating_page(event, form, mine, status=422)
    try:
        if mine is not None and form.mode.data != "edit":
            raise services.RatingError("already_rated")
        if mine is None:
            mine = services.rate(session, event, me, form.stars.data, form.comment.data or "")
            notice = _("Thank you: your rating is saved.")
        else:
            services.edit(session, mine, form.stars.data, form.comment.data or "")
            notice = _("Your rating is changed.")
    except services.RatingError as refused:
        if refused.code not in RATING_ERRORS:  # input checks, already done by the form
            abort(400)
        code, message = RATING_ERRORS[refused.code]
        return error_page(code, title=_("Rating not possible"), message=str(message))
    if mine.status == "pending":
        notice += " " + _("A moderator will check it before it is published.")
    flash(notice, "ratings")
    return redirect(url_for("tenant.events.show", event_id=event.id) + "#reviews", code=303)


def _reportable(rating_id: int) -> Rating:
    """A published rating this reader may see (404 otherwise)."""
    rating = services.get(db.session(), rating_id)
    if rating is None or rating.status != "published" or not _may_read():
        abort(404)
    _visible_event(rating.event_id)
    return rating


@bp.route(f"/ratings/<{ID}:rating_id>/report", methods=["GET", "POST"])
def report(rating_id: int):
    rating = _reportable(rating_id)
    event = db.session().get(Event, rating.event_id)
    form = ReportForm()
    if request.method == "GET" or not form.validate():
        status = 200 if request.method == "GET" else 422
        return render("ratings/report.html", block="report", status=status, form=form,
                      rating=rating, event=event, done=False, **_helpers())
    key = throttle.key("rating-report", f"{db.current_slug()}:{request.remote_addr}")
    try:
        services.report(db.session(), rating, key, form.reason.data, form.details.data or "")
    except services.RatingError as refused:
        if refused.code != "rate_limited":
            abort(400)
        return error_page(429, title=_("Too many reports"),
                          message=_("You have sent many reports in a short time. Please try "
                                    "again in an hour."))
    return render("ratings/report.html", block="report", form=form, rating=rating,
                  event=event, done=True, **_helpers())


# --- public pages about the tenant's reviews ------------------------------------------------


@bp.get("/ratings")
def summary():
    session = db.session()
    readable = _may_read()
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), services.MAX_PAGE)
    overall = services.tenant_summary(session) if readable else services.Summary()
    rows = services.events_summaries(session, STATS_PAGE + 1, (page - 1) * STATS_PAGE) \
        if readable else []
    return render("ratings/summary.html", readable=readable, overall=overall,
                  rows=rows[:STATS_PAGE], has_next=len(rows) > STATS_PAGE, page=page,
                  **_helpers())


@bp.get("/ratings/how-it-works")
def policy():
    return render("ratings/policy.html", settings=settings.get(db.session()), **_helpers())


# --- staff ----------------------------------------------------------------------------------


@bp.get("/admin/ratings")
@access.require_role("moderator")
def moderation():
    return render("ratings/moderation.html", items=services.queue(db.session(), requested_page()),
                  form=ModerationForm(), **_helpers())


def _moderated(rating_id: int, action: str) -> BaseResponse:
    form = ModerationForm()
    if not form.validate_on_submit():
        if form.errors.keys() - {"reason"}:  # the CSRF token: not a form to show again
            abort(400)
        return _moderation_result(rating_id, form, status=422)
    rating = services.with_event(db.session(), rating_id)
    if rating is None:
        abort(404)
    reason = (form.reason.data or "").strip()
    if action == "hide" and not reason:
        form.reason.errors.append(_("Give the reason: it is sent to the author."))
        return _moderation_result(rating_id, form, status=422)
    if action == "hide":
        done = services.hide(db.session(), rating, reason, access.member_id())
    else:
        done = services.approve(db.session(), rating, access.member_id())
    if not done:
        return error_page(409, title=_("Nothing to do"),
                          message=_("This review has already been hidden."))
    if wants_fragment():
        notice = (_("The review is hidden and its author is told why.") if action == "hide"
                  else _("The review is published."))
        body = render_block("ratings/moderation.html", "done", rating=rating, notice=notice,
                            **_helpers())
        return Response(body, mimetype="text/html", headers={"Vary": "HX-Request"})
    flash(_("The review is hidden and its author is told why.") if action == "hide"
          else _("The review is published."), "ratings")
    return redirect(url_for(".moderation"), code=303)


def _moderation_result(rating_id: int, form: ModerationForm, status: int) -> Response:
    """The rating's moderation form again, with its errors (the item alone for htmx)."""
    item = services.queue_item(db.session(), rating_id)
    if item is None:
        abort(404)
    if wants_fragment():
        body = render_block("ratings/moderation.html", "item", item=item, form=form,
                            errors_for=rating_id, **_helpers())
        return Response(body, status=status, mimetype="text/html",
                        headers={"Vary": "HX-Request"})
    return render("ratings/moderation.html", status=status, items=[item], single=True,
                  form=form, errors_for=rating_id, **_helpers())


@bp.get(f"/admin/ratings/<{ID}:rating_id>")
@access.require_role("moderator")
def moderate(rating_id: int):
    """One review's moderation form (linked from the event page for moderators)."""
    item = services.queue_item(db.session(), rating_id)
    if item is None:
        abort(404)
    return render("ratings/moderation.html", items=[item], single=True,
                  form=ModerationForm(), **_helpers())


@bp.post(f"/admin/ratings/<{ID}:rating_id>/publish")
@access.require_role("moderator")
def publish(rating_id: int):
    return _moderated(rating_id, "publish")


@bp.post(f"/admin/ratings/<{ID}:rating_id>/hide")
@access.require_role("moderator")
def hide(rating_id: int):
    return _moderated(rating_id, "hide")


@bp.get("/admin/ratings/statistics")
@access.require_role("viewer")
def statistics():
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), services.MAX_PAGE)
    rows = services.statistics(db.session(), STATS_PAGE + 1, (page - 1) * STATS_PAGE)
    return render("ratings/statistics.html", rows=rows[:STATS_PAGE],
                  has_next=len(rows) > STATS_PAGE, page=page, **_helpers())
