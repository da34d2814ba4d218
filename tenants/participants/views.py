"""Participants' pages: sign-up (with or without an event), e-mail confirmation, sign-in and
sign-out, password reset and change, the profile, the participant list; and the staff's list
and record of participants.

No page tells whether an address has an account: sign-up, password reset and a new
confirmation link get the same answer whatever the address, and only the owner of the address
learns more, by e-mail. Every e-mail leaves from a job, after the request's commit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import Any
from urllib.parse import urlencode

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
from flask import session as cookie_session
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from core.clock import utcnow
from core.db import writes, writes_after_reading
from core.extensions import htmx
from core.jobs import enqueue
from core.kept import Kept
from core.web.errors import error_page
from core.web.htmx import render, render_block, template_globals, wants_fragment
from core.web.i18n import safe_next
from tenants import access, db, keeping, pagecache
from tenants.audit import services as audit
from tenants.consent import ledger as consent_ledger
from tenants.events import services as events
from tenants.events.models import Event
from tenants.events.wording import event_moment, event_when
from tenants.fields import answer_form, answers
from tenants.participants import directory, filters, forms, services, tasks
from tenants.participants.models import Participant
from tenants.registration import services as registrations
from tenants.registration.forms import STATUS_LABELS
from tenants.settings import services as settings
from tenants.settings import version
from tenants.texts import pick

bp = Blueprint("participants", __name__, template_folder="templates")

PAGE_SIZE = 50
MAX_PAGE = 10_000  # keeps OFFSET within what any database accepts
MAX_ID = 2**31 - 1  # larger ids do not exist, and SQLite cannot even bind some of them
LISTED = ("participants", "public")  # visibilities that put someone in a list


def current_participant() -> Participant | None:
    """``current_participant()`` in templates: who is signed in to this tenant, if anyone."""
    return services.current(db.session()) if g.get("tenant") else None


template_globals(bp, current_participant=current_participant)


# --- helpers -----------------------------------------------------------------------------------


def _language() -> str:
    return str(get_locale() or "fr")


def _client_ip() -> str:
    # Behind a proxy, configure werkzeug's ProxyFix so remote_addr is the client's address.
    return request.remote_addr or "unknown"


def _page() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


def _go(target: str) -> BaseResponse:
    """Redirect after a change (htmx follows with a full page load)."""
    if htmx:
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target, code=303)


def _is_preview() -> bool:
    """The fields block asked again after a controlling answer changed (htmx): render, save
    nothing."""
    return request.method == "POST" and request.form.get("preview") == "1"


def _throttled(retry_after: int) -> Response:
    minutes = max(retry_after // 60, 1)
    return error_page(429, message=ngettext(
        "Too many failed sign-in attempts. Please try again in %(num)d minute.",
        "Too many failed sign-in attempts. Please try again in %(num)d minutes.",
        minutes), retry_after=retry_after)


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """Pages of the signed-in participant; others are sent to the sign-in page and back."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        me = services.current(db.session())
        if me is None:
            # Absolute endpoints: other features' pages use this decorator too.
            back = request.full_path.rstrip("?") if request.method == "GET" else url_for(
                "tenant.participants.profile")
            return _go(url_for("tenant.participants.login", next=back))
        return view(me, *args, **kwargs)

    return wrapped


def _event_helpers() -> dict[str, Any]:

    language, default = _language(), settings.languages(db.session())[0]
    return {"text": lambda texts: pick(texts, language, default), "event_when": event_when,
            "event_moment": event_moment}


def _message(title: str, message: str, status: int = 200, **context: Any) -> Response:
    return render("participants/message.html", status=status, title=title, message=message,
                  **context)


# --- signing up --------------------------------------------------------------------------------


def _signup_page(form: Any, event: Event | None, state: str, *, status: int = 200,
                 block: str | None = None) -> Response:
    """The sign-up page with ``form`` (None: registration is not open; a form class: a blank
    form, whose inputs are the same for every visitor, rendered once per process, language,
    page and configuration version, tenants/settings/version.py)."""
    helpers = _event_helpers()
    blank = None
    if isinstance(form, type):
        blank = version.kept(db.session(), "signup_inputs", (_language(), request.path),
                             lambda: Markup(render_block(  # noqa: S704 -- Jinja's own output
                                 "participants/signup.html", "inputs", form=form(),
                                 preview=False, **helpers)))
    return render("participants/signup.html", block=block, status=status, form=form,
                  event=event, state=state, preview=block is not None, blank_inputs=blank,
                  **helpers)


@bp.route("/signup", methods=["GET", "POST"])
@bp.route("/events/<int:event_id>/signup", methods=["GET", "POST"], endpoint="signup_event")
@writes_after_reading
@pagecache.cached
def signup(event_id: int | None = None):
    session = db.session()
    event = None
    if event_id is not None:
        event = (events.get_visible(session, event_id, staff=access.has_role("viewer"))
                 if event_id <= MAX_ID else None)
        if event is None:
            abort(404)
    if services.current(session) is not None:  # has an account: registers from the event page
        return _go(url_for("tenant.events.show", event_id=event.id) if event
                   else url_for(".profile"))
    state = registrations.registration_state(event) if event is not None else "open"
    if state != "open":
        return _signup_page(None, event, state, status=409 if request.method == "POST" else 200)
    form_class = answer_form.build_form_class(session, _language(), signup=True)
    if request.method != "POST":
        return _signup_page(form_class, event, state)  # blank: no form instance needed
    form = form_class()
    if _is_preview():
        return _signup_page(form, event, state, block="fields")
    if not form.validate():
        return _signup_page(form, event, state, status=422)

    # The reads above ran without the write lock; the slow hash too (only when a password was
    # chosen: a password-free sign-up hashes nothing). Then the writes, with the lock held only
    # for them (see tenants/db.py, begin_writing).
    password_hash = services.hash_password(form.password.data) if form.password.data else ""
    db.begin_writing()
    # Each write below is one Core statement (no unit of work to flush): the account, its
    # pending registration, its answers, its consents.
    schedule, now = None, utcnow()
    if event is not None:  # it may have closed (or been cancelled) meanwhile
        schedule = events.schedule(session, event.id)
        state = registrations.registration_state(schedule, now) if schedule else "closed"
        if state != "open":  # nothing is kept
            return _signup_page(None, event, state, status=409)
    slug = db.current_slug()
    participant_id = services.create(
        session, email=form.email.data, password_hash=password_hash, language=_language(),
        **{key: form[key].data or "" for key in form.standard})
    # An address that has an account inserts nothing, yet its attempt dates the tenant's page
    # copies as a new account does (tenants/pagecache.py sees an INSERT): they tell nothing.
    if participant_id is None:  # the address has an account (the unique constraint said so)
        # A password was hashed all the same if one was typed: the same work as a new account,
        # so the time taken tells nothing; the owner of the address is told by e-mail (with a
        # sign-in link back to the event).
        existing = services.find_by_email(session, form.email.data)
        if existing is not None and services.should_tell_owner(session, existing):
            enqueue(tasks.send_signup_attempt, slug, existing.id,
                    event.id if event is not None else None)
    else:
        # Pending until the address is confirmed; the answers are given for it.
        registration_id = (registrations.register_new(session, schedule.id, participant_id, now)
                           if schedule is not None else None)
        answers.add_answers(session, participant_id, form, registration_id)
        # No terms are shown to participants yet: the version recorded is empty.
        consent_ledger.record_sign_up(session, participant_id,
                                      privacy_version=forms.PRIVACY_NOTE_VERSION,
                                      terms_version="",
                                      marketing_opt_in=bool(form.marketing.data))
        enqueue(tasks.send_confirmation, slug, participant_id,
                event.id if event is not None else None)
    return redirect(url_for(".check_inbox"), code=303)


@bp.get("/signup/check-inbox")
def check_inbox():
    return _message(_("Check your inbox"), _(
        "We have sent an e-mail to the address you gave. Follow the link in it within 7 days "
        "to confirm your address and complete your registration. No e-mail after a few "
        "minutes? Look in your spam folder, or ask for a new link."),
        links=[(url_for(".resend_confirmation"), _("Send me a new confirmation link"))])


@bp.get("/confirm/<token>")
@writes
def confirm(token: str):
    session = db.session()
    participant = services.confirm_email(session, token)
    if participant is not None:
        services.sign_out(session)  # whoever was signed in in this browser
        services.sign_in(session, participant)
        flash(_("Your e-mail address is confirmed: welcome!"), "registration")
        return redirect(url_for("tenant.registration.mine"), code=303)
    owner = services.token_owner(session, token, "confirm", live=False)
    if owner is not None and owner.is_confirmed:
        return _message(_("Address already confirmed"), _(
            "This link has already been used: your e-mail address is confirmed. Sign in to "
            "continue."), links=[(url_for(".login"), _("Sign in"))])
    return render("participants/resend.html", status=410 if owner else 400,
                  form=forms.EmailForm(formdata=None), link_failed=True)


@bp.route("/confirm/resend", methods=["GET", "POST"])
def resend_confirmation():
    form = forms.EmailForm()
    if not form.validate_on_submit():
        return render("participants/resend.html", form=form, link_failed=False,
                      status=422 if form.is_submitted() else 200)
    participant = services.find_by_email(db.session(), form.email.data)
    if participant is not None and not participant.is_confirmed:
        enqueue(tasks.send_confirmation, db.current_slug(), participant.id)
    return _message(_("Check your inbox"), _(
        "If this address has an account waiting for confirmation, a new link is on its way. "
        "It is valid for 7 days."))


# --- signing in and out ------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@access.exercise_of_rights
def login():
    form = forms.LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if not form.validate_on_submit():
        return render("participants/login.html", form=form, status=422 if form.errors else 200)
    session = db.session()
    result = services.authenticate(session, form.email.data, form.password.data, _client_ip())
    if result.throttled:
        return _throttled(result.retry_after)
    participant = result.participant
    if participant is None:
        # One message for an unknown address and a wrong password: no account enumeration.
        form.password.errors = [_("E-mail address or password is incorrect.")]
        return render("participants/login.html", form=form, status=422)
    if not participant.is_confirmed:
        # Only the password's owner reads this, so it reveals nothing to anyone else.
        enqueue(tasks.send_confirmation, db.current_slug(), participant.id)
        form.email.errors = [_("Confirm your e-mail address first: we have sent you a new "
                               "link (look in your spam folder too).")]
        return render("participants/login.html", form=form, status=403)
    services.sign_out(session)
    if not participant.is_active:  # deactivated: its owner may take it back (retention)
        services.hold_for_reactivation(session, participant)
        return redirect(url_for("tenant.retention.reactivate"), code=303)
    services.sign_in(session, participant)
    return redirect(safe_next(form.next.data, url_for("tenant.events.index")), code=303)


def _sign_in_done(participant: Participant, next_url: str | None) -> BaseResponse:
    """After an e-mailed link or code was accepted: the account is open in this browser (or
    offered back when deactivated, as after a password)."""
    session = db.session()
    cookie_session.pop(f"pe:{db.current_slug()}", None)  # the address the code page showed
    services.sign_out(session)  # whoever was signed in in this browser
    if not participant.is_active:  # deactivated: its owner may take it back (retention)
        services.hold_for_reactivation(session, participant)
        return redirect(url_for("tenant.retention.reactivate"), code=303)
    services.sign_in(session, participant)
    return redirect(safe_next(next_url or "", url_for("tenant.registration.mine")), code=303)


def _too_many_links(retry_after: int) -> Response:
    minutes = max(retry_after // 60, 1)
    return error_page(429, message=ngettext(
        "Too many sign-in e-mails were asked for. Please try again in %(num)d minute.",
        "Too many sign-in e-mails were asked for. Please try again in %(num)d minutes.",
        minutes), retry_after=retry_after)


@bp.route("/login/email", methods=["GET", "POST"])
@access.exercise_of_rights
def email_sign_in():
    """Ask for a sign-in link and code. Known address or not, the same throttling, the same
    job queued and the same redirect: only the address's owner learns more, by e-mail."""
    form = forms.SignInLinkForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if not form.validate_on_submit():
        return render("participants/login_email.html", form=form,
                      status=422 if form.is_submitted() else 200)
    session = db.session()
    wait = services.sign_in_request_throttled(session, form.email.data, _client_ip())
    if wait:
        return _too_many_links(wait)
    enqueue(tasks.send_sign_in_link, db.current_slug(), services.normalise_email(
        form.email.data), _language(), safe_next(form.next.data, ""))
    # The code page is told the address through the cookie, never the URL (logs, history).
    cookie_session[f"pe:{db.current_slug()}"] = services.normalise_email(form.email.data)
    return redirect(url_for(".code_sign_in", next=safe_next(form.next.data, "") or None),
                    code=303)


@bp.route("/login/code", methods=["GET", "POST"])
@access.exercise_of_rights
def code_sign_in():
    form = forms.SignInCodeForm()
    if request.method == "GET":
        form.email.data = cookie_session.get(f"pe:{db.current_slug()}", "")
        form.next.data = request.args.get("next", "")
    if not form.validate_on_submit():
        return render("participants/login_code.html", form=form, minutes=_sign_in_minutes(),
                      status=422 if form.is_submitted() else 200)
    result = services.sign_in_by_code(db.session(), form.email.data, form.code.data,
                                      _client_ip())
    if result.throttled:
        return _throttled(result.retry_after)
    if result.participant is None:
        # The same words for an unknown address, a wrong, used or expired code.
        form.code.errors = [_("This code is not valid: check it, or ask for a new e-mail.")]
        return render("participants/login_code.html", form=form, minutes=_sign_in_minutes(),
                      status=422)
    return _sign_in_done(result.participant, form.next.data)


@bp.route("/login/link/<token>", methods=["GET", "POST"])
@access.exercise_of_rights
def link_sign_in(token: str):
    """An e-mailed sign-in link: the page asks for one click (a mail scanner that opens
    links must not spend it), which signs in."""
    session = db.session()
    next_url = request.args.get("next", "")
    if request.method == "GET":
        if services.token_owner(session, token, "login") is None:
            return _expired_sign_in()
        return render("participants/login_link.html", next_url=next_url)
    # POST: CSRFProtect has checked the form's token (core/extensions.py).
    participant = services.sign_in_by_link(session, token)
    if participant is None:
        return _expired_sign_in()
    return _sign_in_done(participant, next_url)


def _sign_in_minutes() -> int:
    return int(services.TOKEN_LIFETIMES["login"].total_seconds() // 60)


def _expired_sign_in() -> Response:
    return _message(_("This link no longer works"), _(
        "A sign-in link works once, for %(num)d minutes. Ask for a new one.",
        num=_sign_in_minutes()), status=410,
        links=[(url_for(".login"), _("Ask for a new link"))])


@bp.post("/logout")
@access.exercise_of_rights
def logout():
    services.sign_out(db.session())
    return redirect(url_for("tenant.events.index"), code=303)


@bp.route("/password/forgot", methods=["GET", "POST"])
@access.exercise_of_rights
def forgot_password():
    form = forms.EmailForm()
    if not form.validate_on_submit():
        return render("participants/forgot.html", form=form,
                      status=422 if form.is_submitted() else 200)
    participant = services.find_by_email(db.session(), form.email.data)
    if participant is not None:
        enqueue(tasks.send_password_reset, db.current_slug(), participant.id)
    return _message(_("Check your inbox"), _(
        "If this address has an account, we have sent it a link to choose a new password. "
        "The link is valid for 2 hours."))


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@writes_after_reading
@access.exercise_of_rights
def reset_password(token: str):
    session = db.session()
    owner = services.token_owner(session, token, "reset")
    if owner is None:
        return _expired_reset()
    form = forms.ResetForm()
    form.account_email = owner.email
    if not form.validate_on_submit():
        return render("participants/reset.html", form=form,
                      status=422 if form.is_submitted() else 200)
    # The slow hash first, then the writes, with the write lock held only for them.
    password_hash = services.hash_password(form.password.data)
    db.begin_writing()
    services.sign_out(session)  # then every session of the account ends with the reset
    participant = services.reset_password(session, token, password_hash=password_hash)
    if participant is None:  # used in another tab meanwhile
        return _expired_reset()
    if not participant.is_active:  # deactivated: its owner chooses to take it back (retention)
        services.hold_for_reactivation(session, participant)
        return redirect(url_for("tenant.retention.reactivate"), code=303)
    services.sign_in(session, participant)
    flash(_("Your new password is saved. You are signed in; any other session has ended."),
          "profile")
    return redirect(url_for(".profile"), code=303)


def _expired_reset() -> Response:
    return _message(_("This link no longer works"), _(
        "A password reset link works once, for 2 hours. Ask for a new one."), status=410,
        links=[(url_for(".forgot_password"), _("Ask for a new link"))])


# --- the signed-in participant -----------------------------------------------------------------


def _profile_form(me: Participant, *, submitted: bool) -> answer_form.AnswersForm:
    session = db.session()
    base = answer_form.build_form_class(session, _language(), signup=False, participant=me)
    form_class = type("ProfileForm", (base,),
                      {"email_language": forms.language_field(me.language)})
    return form_class() if submitted else form_class(formdata=None)


def _profile_page(me: Participant, form: Any, visibility: Any, status: int = 200,
                  block: str | None = None) -> Response:
    allowed = settings.allowed_visibilities(db.session())
    return render("participants/profile.html", block=block, status=status, me=me, form=form,
                  visibility=visibility, lists_disabled=len(allowed) == 1,
                  preview=block is not None)


@bp.route("/me", methods=["GET", "POST"])
@access.exercise_of_rights
@signed_in
def profile(me: Participant):
    session = db.session()
    form = _profile_form(me, submitted=True)
    visibility = forms.visibility_form(settings.allowed_visibilities(session), me.visibility,
                                       submitted=False)
    if _is_preview():
        return _profile_page(me, form, visibility, block="fields")
    if not form.is_submitted():
        return _profile_page(me, form, visibility)
    if not form.validate():
        return _profile_page(me, form, visibility, status=422)
    answers.save_answers(session, me, form)
    services.set_language(session, me, form.email_language.data)
    flash(_("Your profile is saved."), "profile")
    return redirect(url_for(".profile"), code=303)


@bp.post("/me/visibility")
@access.exercise_of_rights
@signed_in
def visibility(me: Participant):
    session = db.session()
    allowed = settings.allowed_visibilities(session)
    form = forms.visibility_form(allowed, me.visibility, submitted=True)
    if not form.validate():
        return _profile_page(me, _profile_form(me, submitted=False), form, status=422)
    services.set_visibility(session, me, form.visibility.data, allowed)
    flash(_("Your choice is saved."), "profile")
    return redirect(url_for(".profile"), code=303)


@bp.route("/me/password", methods=["GET", "POST"])
@access.exercise_of_rights
@signed_in
def change_password(me: Participant):
    # An account without a password (signed in by e-mail) chooses one without a current one.
    form = forms.ChangePasswordForm() if me.has_password else forms.SetPasswordForm()
    form.account_email = me.email
    if not form.validate_on_submit():
        return render("participants/password.html", form=form,
                      status=422 if form.is_submitted() else 200)
    session = db.session()
    if me.has_password:
        # Through the throttled check: a borrowed session cannot be used to guess it.
        result = services.authenticate(session, me.email, form.current.data, _client_ip())
        if result.throttled:
            return _throttled(result.retry_after)
        if result.participant is None or result.participant.id != me.id:
            form.current.errors = [_("Your current password is incorrect.")]
            return render("participants/password.html", form=form, status=422)
    services.change_password(session, me, form.password.data)
    flash(_("Your new password is saved. Your other sessions have ended."), "profile")
    return redirect(url_for(".profile"), code=303)


# --- the participant list ----------------------------------------------------------------------


@bp.get("/people")
def people():
    session = db.session()
    allowed = settings.allowed_visibilities(session)
    me = services.current(session)
    # Visitors see those who chose "public"; participants also those who chose "participants".
    shown = tuple(v for v in LISTED if v in allowed and (v == "public" or me is not None))
    page = _page()
    found = services.listed(session, shown, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1)
    return render("participants/people.html", block="results", people=found[:PAGE_SIZE],
                  page=page, has_next=len(found) > PAGE_SIZE, disabled=allowed == ("nobody",),
                  sign_in_to_see=not shown and "participants" in allowed)


# --- staff -------------------------------------------------------------------------------------


def _event_choices() -> list[tuple[str, str]]:
    """The events the staff list's filter offers: (id, title and date)."""
    session = db.session()
    language, default = _language(), settings.languages(session)[0]
    return [(str(event_id), f"{pick(title, language, default)} ({moment:%Y-%m-%d})")
            for event_id, title, moment in directory.event_choices(session)]


# The unfiltered list's filter form, rendered: the same for every member who reads the list
# in the same language while the tenant's events are unchanged, so kept per tenant and
# language under the tenant's page generation (``tenants.pagecache``: bumped when a write to
# what pages show commits, an event's included), without reading the events offered again.
# Its six fields cost WTForms about a fifth of the page, the events' read another tenth.
MAX_BLANK_FILTERS = 2_000
_blank_filters: Kept[tuple[Hashable, ...], Markup] = Kept(MAX_BLANK_FILTERS)


def _blank_filter_fields() -> Markup:
    slug = db.current_slug()
    key, generation = (*keeping.key(slug), _language()), pagecache.shared().get(slug)
    fields = _blank_filters.get(key, generation)
    if fields is not None:
        return fields
    # Read before the events are: a change committing meanwhile makes this copy stale at
    # once. A transaction already open may predate the generation: nothing kept then.
    fresh = not db.in_transaction()
    form = filters.participant_filter(_event_choices(), STATUS_LABELS)(MultiDict())
    fields = Markup(render_block(  # noqa: S704 -- Jinja's own output
        "participants/index.html", "filter_fields", form=form))
    if fresh:
        _blank_filters.put(key, fields, generation)
    return fields


def _directory_filters() -> tuple[Any, directory.Filters, bool]:
    """The staff list's form and filters from the query string; invalid input filters nothing
    (the page says so)."""
    form = filters.participant_filter(_event_choices(), STATUS_LABELS)(MultiDict(request.args))
    if not form.validate():
        return form, directory.Filters(), False
    return form, directory.Filters(
        q=(form.q.data or "").strip(), event=int(form.event.data) if form.event.data else None,
        status=form.status.data, language=form.language.data,
        restricted=form.restricted.data, opted_in=form.opted_in.data), True


def _filter_args(form: Any) -> dict[str, str]:
    """The chosen filters, for the pager's and the export's links."""
    return {name: form[name].data for name in ("q", "event", "status", "language",
                                                "restricted", "opted_in") if form[name].data}


@bp.get("/admin/participants")
@access.require_role("viewer")
def index():
    page = _page()
    session = db.session()
    if request.args.keys() - {"page"} or wants_fragment():  # filtered, or the results alone
        form, chosen, valid = _directory_filters()
        blank, args = None, _filter_args(form) if valid else {}
    else:  # the whole page, unfiltered: its filter form as kept
        form, chosen, valid, args = None, directory.Filters(), True, {}
        blank = _blank_filter_fields()
    found = directory.page(session, chosen, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    can_export = access.has_role("manager")
    return render("participants/index.html", block="results", status=200 if valid else 422,
                  form=form, blank_filters=blank, valid=valid, args=args,
                  participants=found.people, restricted=found.restricted,
                  opted_in=found.opted_in, total=found.total, page=page,
                  pages=max((found.total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
                  can_export=can_export, left_out=found.left_out)


@bp.get("/admin/participants.csv")
@writes  # the export is logged
@access.require_role("manager")
def export_csv():
    form, chosen, valid = _directory_filters()
    if not valid:
        return error_page(422, title=_("Export not made"), message=_(
            "The filters are not valid: correct them on the participants page, then export."))
    # What was exported: the filters, as the page's query string (cut to the log's width).
    query = urlencode(_filter_args(form))
    audit.record(db.session(), member_id=access.member_id(), action="participants.export",
                 target=f"participants?{query}"[:100] if query else "participants")
    # Streamed after the request's commit, so the access log is kept even if a download is
    # interrupted; the rows are read in a unit of work of their own.
    body = stream_with_context(directory.stream(db.current_slug(), chosen))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="participants.csv"',
        "Cache-Control": "no-store"})


@bp.get("/admin/participants/<int:participant_id>")
@writes
@access.require_role("manager")
def show(participant_id: int):
    session = db.session()
    participant = services.get(session, participant_id) if participant_id <= MAX_ID else None
    if participant is None:
        abort(404)
    audit.record(session, member_id=access.member_id(), action="participant.read",
                 target=f"participant:{participant.id}")
    language, default = _language(), settings.languages(session)[0]
    answered = [(pick(field.label, language, default),
                 answers.display_value(field, value, language, default),
                 field.archived_at is not None)
                for field, value in answers.answered_fields(session, participant.id)]
    return render("participants/show.html", participant=participant, answers=answered)
