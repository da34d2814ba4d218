"""Registration pages: registering from the event page, a participant's own registrations, and
the staff's roster, approval queue and CSV export.

Participants act only on their own registrations (another id is a 404); staff reads of
registrants' data are recorded in the access log. The join link never appears on a page: it is
e-mailed (again, on request) by a job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from core.clock import utcnow
from core.db import writes, writes_after_reading
from core.extensions import htmx
from core.jobs import enqueue
from core.web.errors import error_page
from core.web.htmx import render, render_block, template_globals, wants_fragment
from core.web.i18n import safe_next
from core.web.pagination import requested_page
from tenants import access, db
from tenants.audit import services as audit
from tenants.events import services as events
from tenants.events.models import Event
from tenants.events.wording import event_moment, event_when
from tenants.fields import answer_form
from tenants.fields import answers as field_answers
from tenants.fields import services as fields
from tenants.participants import services as participants
from tenants.participants.models import Participant
from tenants.ratings import services as ratings
from tenants.registration import changes, export, services, tasks
from tenants.registration.forms import (
    STATUS_LABELS,
    AttendanceForm,
    CancelForm,
    DecisionForm,
    JoinLinkForm,
    RegisterForm,
    RosterFilter,
)
from tenants.registration.models import ACTIVE, Registration
from tenants.rights.models import restricted_among
from tenants.settings import services as settings
from tenants.texts import pick

bp = Blueprint("registration", __name__, template_folder="templates")
# Ids in URLs: positive and within the databases' integer range (SQLite cannot even bind a
# larger one), so any other number is a plain 404.
ID = "int(min=1, max=2147483647)"

# Why a registration could not be made, for the participant.
REGISTER_ERRORS = {
    "full": (409, _l("Sorry, this event is full: there is no seat left.")),
    "not_allowed": (409, _l("The organiser did not accept your registration to this event.")),
    "closed": (422, _l("Registration for this event is closed.")),
    "not_open": (422, _l("Registration for this event is not open yet.")),
    "ended": (422, _l("This event has ended.")),
}
ANSWERS_CLOSED = _l("Your answers can be changed until the event starts, while your "
                    "registration stands. They stay as you gave them.")
# Why a manager's decision could not be applied.
DECISION_ERRORS = {
    "full": _l("The event is full and has no waiting list: this registration cannot be "
               "approved unless seats are added."),
    "not_allowed": _l("This registration has changed meanwhile or its event is over; "
                      "reload the page to see where it stands."),
}


# --- helpers shared by the pages -------------------------------------------------------------


def _language() -> str:
    return str(get_locale() or "fr")


def _page_helpers() -> dict[str, Any]:
    """Tenant texts in the reader's language and event times in the event's own zone."""
    language, default = _language(), settings.languages(db.session())[0]
    return {"text": lambda texts: pick(texts, language, default), "event_when": event_when,
            "event_moment": event_moment, "status_labels": STATUS_LABELS, "now": utcnow(),
            "may_change": changes.may_change}


def _sign_in_first(back_to: str) -> BaseResponse:
    """Send a visitor to the participants' sign-in page, then back to ``back_to``."""
    target = url_for("tenant.participants.login", next=back_to)
    if htmx:
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target, code=303)


def _me() -> Participant | None:
    return participants.current(db.session())


def _visible_event(event_id: int) -> Event:
    event = events.get_visible(db.session(), event_id, staff=access.has_role("viewer"))
    if event is None:
        abort(404)
    return event


def _status_notice(registration: Registration, position: int | None) -> str:
    """What a participant is told right after registering."""
    if registration.status == "confirmed":
        return _("You are registered. The join link has been sent to you by e-mail.")
    if registration.status == "awaiting":
        return _("Your registration is awaiting the organiser's approval. "
                 "You will receive an e-mail once it is decided.")
    if registration.status == "waitlisted":
        return _("The event is full: you are on the waiting list, in position %(position)d. "
                 "You will be told by e-mail when a seat is yours.", position=position or 0)
    return _("Almost done: confirm your e-mail address with the link we sent you, and your "
             "registration will go ahead.")


@dataclass(frozen=True)
class Panel:
    """What the event page's registration panel needs about the signed-in participant."""

    registration: Registration | None
    position: int | None  # on the waiting list
    opens: str  # when registration opens, in the event's zone ("" if it is not set)


def registration_panel(event: Event) -> Panel:
    """``registration_panel(event)`` for ``registration/_panel.html`` (on the event page)."""
    session = db.session()
    me = participants.current(session) if g.get("tenant") else None
    registration = services.for_event(session, event.id, me.id) if me else None
    position = None
    if registration is not None and registration.status == "waitlisted":
        position = services.waitlist_positions(session, [registration]).get(registration.id)
    opens = event.registration_opens_at
    return Panel(registration, position, event_moment(opens, event) if opens else "")


template_globals(bp, registration_panel=registration_panel)


# --- participants ----------------------------------------------------------------------------


@bp.post(f"/events/<{ID}:event_id>/register")
def register(event_id: int):
    event = _visible_event(event_id)
    event_page = url_for("tenant.events.show", event_id=event.id)
    me = _me()
    if me is None:
        return _sign_in_first(event_page)
    if not RegisterForm().validate_on_submit():
        abort(400)
    session = db.session()
    try:
        registration = services.register(session, event, me)
    except services.RegistrationError as refused:
        status, message = REGISTER_ERRORS[refused.code]
        return error_page(status, title=_("Registration not possible"), message=str(message))
    position = services.waitlist_positions(session, [registration]).get(registration.id)
    flash(_status_notice(registration, position), "registration")
    return redirect(event_page, code=303)


@bp.get("/me/registrations")
def mine():
    me = _me()
    if me is None:
        return _sign_in_first(url_for("tenant.registration.mine"))
    session = db.session()
    registrations = services.for_participant(session, me.id)
    helpers = _page_helpers()
    # Upcoming (not ended yet: the soonest first) and past (the latest first).
    upcoming = sorted((r for r in registrations if r.event.ends_at > helpers["now"]),
                      key=lambda r: (r.event.starts_at, r.id))
    past = [r for r in registrations if r.event.ends_at <= helpers["now"]]
    return render("registration/mine.html", registrations=registrations, upcoming=upcoming,
                  past=past, positions=services.waitlist_positions(session, upcoming),
                  rating_links=ratings.rating_links(session, me.id, past, helpers["now"]),
                  active=ACTIVE, **helpers)


def _owned(registration_id: int) -> Registration | BaseResponse:
    """The signed-in participant's registration (404 for anyone else's), or a sign-in redirect."""
    me = _me()
    if me is None:
        return _sign_in_first(url_for("tenant.registration.mine"))
    registration = services.owned(db.session(), registration_id, me.id)
    if registration is None:
        abort(404)
    return registration


def _mine_row(registration: Registration, notice: str | None = None,
              status: int = 200) -> Response:
    """The participant's row, alone, for an htmx swap."""
    positions = services.waitlist_positions(db.session(), [registration])
    body = render_block("registration/mine.html", "row", registration=registration,
                        positions=positions, active=ACTIVE, notice=notice, rating_links={},
                        **_page_helpers())
    response = Response(body, status=status, mimetype="text/html")
    response.vary.add("HX-Request")
    return response


@bp.post(f"/me/registrations/<{ID}:registration_id>/cancel")
def cancel(registration_id: int):
    registration = _owned(registration_id)
    if isinstance(registration, BaseResponse):
        return registration
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    back_to = safe_next(form.next.data, url_for("tenant.registration.mine"))
    if registration.status not in ACTIVE:  # already cancelled (a second click): nothing to do
        return _mine_row(registration) if wants_fragment() else redirect(back_to, code=303)
    if not form.confirm.data:  # without JavaScript: ask first, on a page of its own
        return render("registration/cancel.html", registration=registration,
                      event=registration.event, next=back_to, **_page_helpers())
    try:
        services.cancel(db.session(), registration)
    except services.RegistrationError:
        return error_page(409, title=_("Cancellation not possible"),
                          message=_("This registration changed meanwhile. Please reload the "
                                    "page and try again."))
    notice = _("Your registration is cancelled.")
    if wants_fragment():
        return _mine_row(registration, notice)
    flash(notice, "registration")
    return redirect(back_to, code=303)


@bp.post(f"/me/registrations/<{ID}:registration_id>/join-link")
def join_link(registration_id: int):
    registration = _owned(registration_id)
    if isinstance(registration, BaseResponse):
        return registration
    if not JoinLinkForm().validate_on_submit():
        abort(400)
    if registration.status != "confirmed":
        message = _("The join link is sent only for a confirmed registration.")
        if wants_fragment():
            return _mine_row(registration, message, status=422)
        return error_page(409, title=_("No join link"), message=message)
    enqueue(tasks.send_registration_email, db.current_slug(), registration.id, "resend")
    notice = _("The join link has been sent to you again by e-mail.")
    if wants_fragment():
        return _mine_row(registration, notice)
    flash(notice, "registration")
    return redirect(url_for("tenant.registration.mine"), code=303)


# --- changing one's answers, until the event starts ------------------------------------------


def _answers_page(registration: Registration, form: answer_form.AnswersForm, *,
                  status: int = 200, block: str | None = None) -> Response:
    return render("registration/answers.html", block=block, status=status, form=form,
                  registration=registration, event=registration.event,
                  preview=block is not None, **_page_helpers())


@bp.route(f"/me/registrations/<{ID}:registration_id>/answers", methods=["GET", "POST"])
@writes_after_reading  # the form is built and checked before the write lock is taken
@access.exercise_of_rights  # correcting one's answers is rectification
def change_answers(registration_id: int):
    registration = _owned(registration_id)
    if isinstance(registration, BaseResponse):
        return registration
    me = _me()
    assert me is not None  # _owned sent visitors to sign in
    if not changes.may_change(registration, registration.event):
        return error_page(409, title=_("Answers not changed"), message=ANSWERS_CLOSED)
    base = answer_form.build_form_class(db.session(), _language(), signup=False,
                                        participant=me)
    form = base()
    if request.method == "POST" and request.form.get("preview") == "1":
        return _answers_page(registration, form, block="fields")
    if not form.is_submitted():
        return _answers_page(registration, base(formdata=None))
    if not form.validate():
        return _answers_page(registration, form, status=422)
    db.begin_writing()
    session = db.session()
    # Read again in the write transaction: the event may have started, or the registration
    # been cancelled, since the page was read.
    session.refresh(me)
    session.refresh(registration, ["status"])  # the event is read again by the service
    try:
        changed = changes.change_answers(session, registration, me, form)
    except services.RegistrationError:
        return error_page(409, title=_("Answers not changed"), message=ANSWERS_CLOSED)
    flash(_("Your answers are saved; the organiser sees that they changed.") if changed
          else _("Nothing changed in your answers."), "registration")
    return redirect(url_for("tenant.registration.mine"), code=303)


# --- staff -----------------------------------------------------------------------------------


def _event_or_404(event_id: int) -> Event:
    event = events.get(db.session(), event_id)
    if event is None:
        abort(404)
    return event


def _read_logged(action: str, event_ids: list[int]) -> None:
    """Staff saw (or exported) these events' registrants: one access-log entry per event."""
    audit.record_many(db.session(), member_id=access.member_id(), action=action,
                      targets=[f"event:{event_id}" for event_id in event_ids])


def _staff_context() -> dict[str, Any]:
    return {"can_decide": access.has_role("manager"), "can_export": access.has_role("manager"),
            **_page_helpers()}


@bp.get(f"/admin/events/<{ID}:event_id>/registrations")
@writes  # the read is logged
@access.require_role("viewer")
def roster(event_id: int):
    event = _event_or_404(event_id)
    form = RosterFilter(MultiDict(request.args))
    valid = form.validate()
    status = form.status.data if valid else ""
    session = db.session()
    found = services.roster(session, event.id, [status] if status else None,
                            page=requested_page())
    registrations = found.items
    _read_logged("registrations.read", [event.id])
    export_fields = [pick(f.label, _language(), settings.languages(session)[0])
                     for f in fields.active_fields(session)]
    return render("registration/roster.html", block="table", status=200 if valid else 422,
                  event=event, form=form, registrations=registrations, found=found,
                  pager_args={"event_id": event.id, "status": status or None},
                  counts=services.counts(session, event.id),
                  positions=services.waitlist_positions(session, registrations),
                  restricted=restricted_among(session, {r.participant_id for r in registrations}),
                  answer_changes=changes.latest(session, [r.id for r in registrations]),
                  export_fields=export_fields, view="roster", **_staff_context())


MAX_ATTENDANCE_IDS = 5000  # one roster page's worth


@bp.post(f"/admin/events/<{ID}:event_id>/attendance")
@access.require_role("manager")
def attendance(event_id: int):
    """Mark confirmed registrants as attended or not: one row (its button) or the ticked ones."""
    event = _event_or_404(event_id)
    form = AttendanceForm()
    if not form.validate_on_submit():
        abort(400)
    ids = [i for i in form.registration.data or [] if 0 < i <= 2147483647]
    if not ids or len(ids) > MAX_ATTENDANCE_IDS:
        return error_page(422, title=_("Attendance not recorded"),
                          message=_("Tick at least one registrant first."))
    session = db.session()
    try:
        changed = services.mark_attended(session, event, ids, form.attended.data == "1")
    except services.RegistrationError:
        return error_page(409, title=_("Attendance not recorded"),
                          message=_("Attendance can be recorded once the event has started."))
    if wants_fragment() and len(ids) == 1:
        registration = services.with_people(session, ids[0])
        if registration is None or registration.event_id != event.id:
            abort(404)
        body = render_block("registration/roster.html", "row", registration=registration,
                            event=event, positions={}, view="roster",
                            restricted=restricted_among(session, {registration.participant_id}),
                            **_staff_context())
        response = Response(body, mimetype="text/html")
        response.vary.add("HX-Request")
        return response
    flash(ngettext("Attendance recorded for %(num)d registrant.",
                   "Attendance recorded for %(num)d registrants.", changed), "registration")
    status = form.status.data if form.status.data in STATUS_LABELS else None
    return redirect(url_for("tenant.registration.roster", event_id=event.id, status=status),
                    code=303)


@bp.get("/admin/approvals")
@writes  # the read is logged
@access.require_role("viewer")
def approvals():
    queue = services.awaiting_approval(db.session(), requested_page())
    _read_logged("registrations.read", sorted({r.event_id for r in queue}))
    return render("registration/approvals.html", registrations=queue, view="approvals",
                  waiting=queue.total,
                  **_staff_context())


def _decide(registration_id: int,
            decide: Callable[[Session, Registration, int | None], object]) -> BaseResponse:
    """Apply a manager's decision; the updated row (htmx) or the page it came from."""
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    registration = services.with_people(db.session(), registration_id)
    if registration is None:
        abort(404)
    error = None
    try:
        decide(db.session(), registration, access.member_id())
    except services.RegistrationError as refused:
        error = str(DECISION_ERRORS.get(refused.code, DECISION_ERRORS["not_allowed"]))
    view = form.view.data
    if wants_fragment():
        session = db.session()
        positions = services.waitlist_positions(session, [registration])
        body = render_block(f"registration/{view}.html", "row", registration=registration,
                            event=registration.event, positions=positions, error=error,
                            view=view, **_staff_context())
        # The page's counts, swapped out of band (after the row: htmx parses the response
        # as a template, where an element following a row stays beside it).
        if view == "approvals":
            body += render_block("registration/approvals.html", "count", oob=True,
                                 waiting=services.awaiting_count(session))
        else:
            session.refresh(registration.event)  # seats taken changed by a conditional UPDATE
            body += render_block("registration/roster.html", "counts", oob=True,
                                 event=registration.event,
                                 counts=services.counts(session, registration.event_id),
                                 **_staff_context())
        response = Response(body, status=422 if error else 200, mimetype="text/html")
        response.vary.add("HX-Request")
        return response
    if error:
        return error_page(409, title=_("Decision not applied"), message=error)
    if view == "approvals":
        return redirect(url_for("tenant.registration.approvals"), code=303)
    return redirect(url_for("tenant.registration.roster", event_id=registration.event_id),
                    code=303)


@bp.post(f"/admin/registrations/<{ID}:registration_id>/approve")
@access.require_role("manager")
def approve(registration_id: int):
    return _decide(registration_id, services.approve)


@bp.post(f"/admin/registrations/<{ID}:registration_id>/refuse")
@access.require_role("manager")
def refuse(registration_id: int):
    return _decide(registration_id, services.refuse)


@bp.get(f"/admin/registrations/<{ID}:registration_id>/answers")
@writes  # the read is logged
@access.require_role("manager")
def answer_history(registration_id: int):
    """A registration's answers as they stand, and which of them the registrant changed
    when (the organiser's view of issue 19, item 6)."""
    session = db.session()
    registration = services.with_people(session, registration_id)
    if registration is None:
        abort(404)
    audit.record(session, member_id=access.member_id(), action="participant.read",
                 target=f"participant:{registration.participant_id}")
    language, default = _language(), settings.languages(session)[0]
    found = changes.history_page(session, registration.id, requested_page())
    current = [(pick(field.label, language, default),
                field_answers.display_value(field, value, language, default),
                field.archived_at is not None)
               for field, value in field_answers.answered_fields(
                   session, registration.participant_id)]
    return render("registration/answer_history.html", registration=registration,
                  event=registration.event, changes=found,
                  labels=changes.labels(session, found, language, default),
                  answers=current, **_staff_context())


@bp.get(f"/admin/events/<{ID}:event_id>/registrations.csv")
@writes  # the read is logged
@access.require_role("manager")
def export_csv(event_id: int):
    event = _event_or_404(event_id)
    _read_logged("registrations.export", [event.id])
    # Streamed after the request's commit, so the access log is kept even if a download is
    # interrupted; the rows are read in a unit of work of their own.
    body = stream_with_context(export.stream(db.current_slug(), event.id, event.timezone,
                                             _language()))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{export.filename(event)}"',
        "Cache-Control": "no-store"})
