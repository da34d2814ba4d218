"""The personal join link and the "Add to calendar" downloads.

``/t/<slug>/join/<token>`` needs no sign-in (the token is the credential, e-mailed to the
registrant only): it records the first join and redirects to the meeting address, or explains
why not (too early, with the time it opens; over; cancelled; not a confirmed registration).
The meeting address leaves Parvis only as that redirect's ``Location``.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from core.db import writes
from core.web.errors import error_page
from tenants import access, db
from tenants.events import services as events
from tenants.events.models import Event
from tenants.events.wording import event_moment, event_when, locale_name
from tenants.participants import services as participants
from tenants.registration import joining, services
from tenants.settings import services as settings
from tenants.texts import pick

bp = Blueprint("joining", __name__)
ID = "int(min=1, max=2147483647)"


def _private(response: BaseResponse) -> BaseResponse:
    """Nothing about a personal link is cached or passed on as a referrer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _zone(event: Event) -> str:
    return event.timezone.replace("_", " ")


@bp.get("/join/<string(maxlength=64):token>")
@writes  # the first join records attendance
def join(token: str):
    registration = joining.by_token(db.session(), token)
    if registration is None:
        return _private(error_page(404, title=_("Unknown join link"), message=_(
            "This join link is not valid. Use the link from your latest e-mail about the "
            "event, or ask for it again from your registrations.")))
    outcome = joining.join(db.session(), registration)
    event = registration.event
    page = (url_for("tenant.events.show", event_id=event.id), _("Event page"))
    if outcome.state == "open":
        return _private(redirect(outcome.redirect, code=303))
    if outcome.state == "not_yet":
        response = error_page(409, title=_("Not open yet"), link=page, message=_(
            "Your join link works from %(moment)s (%(zone)s). Come back then; the event is "
            "%(when)s.", moment=event_moment(outcome.opens_at, event), zone=_zone(event),
            when=event_when(event)))
    elif outcome.state == "no_address":
        response = error_page(409, title=_("Not open yet"), link=page, message=_(
            "The organiser has not given the meeting address yet. Try again in a moment."))
    elif outcome.state == "over":
        response = error_page(410, title=_("This event is over"), link=page, message=_(
            "The event took place %(when)s: its join link no longer works.",
            when=event_when(event)))
    elif outcome.state == "cancelled":
        response = error_page(410, title=_("Event cancelled"), link=page, message=_(
            "The organiser has cancelled this event: there is nothing to join."))
    else:
        response = error_page(403, title=_("No seat for this link"), link=page, message=_(
            "Only a confirmed registration can join the event, and this one is not (it is "
            "cancelled, waiting for a seat or for the organiser's approval)."))
    return _private(response)


def _ics(content: str, name: str) -> Response:
    return Response(content, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


def _texts(event: Event) -> tuple[str, str]:
    language, default = locale_name(), settings.languages(db.session())[0]
    return pick(event.title, language, default), pick(event.description, language, default)


@bp.get(f"/events/<{ID}:event_id>/calendar.ics")
def event_calendar(event_id: int):
    """The public file: the event and its page, no join link."""
    event = events.get_visible(db.session(), event_id, staff=access.has_role("viewer"))
    if event is None:
        abort(404)
    title, description = _texts(event)
    content = joining.public_file(db.current_slug(), event, title, description)
    return _ics(content, f"event-{event.id}.ics")


@bp.get(f"/me/registrations/<{ID}:registration_id>/calendar.ics")
def my_calendar(registration_id: int):
    """The signed-in registrant's file, with their personal join link."""
    me = participants.current(db.session())
    if me is None:
        return redirect(url_for("tenant.participants.login",
                                next=url_for("tenant.registration.mine")), code=303)
    registration = services.owned(db.session(), registration_id, me.id)
    if registration is None:
        abort(404)
    if registration.status != "confirmed" or registration.event.status != "published":
        return error_page(409, title=_("No calendar file"), message=_(
            "A calendar file with your join link is for a confirmed registration only."))
    title, description = _texts(registration.event)
    content = joining.personal_file(db.current_slug(), registration, registration.event,
                                    me.email, title, description)
    return _private(_ics(content, f"event-{registration.event_id}.ics"))
