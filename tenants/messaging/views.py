"""Pages of the messaging feature: an event's messages (log, compose, preview, send), the
tenant's e-mail texts (edit, preview, reset), and the news unsubscribe page (no sign-in).

Staff see the log (viewer and up); managers write; admins edit the e-mail texts. A bad input
is shown back with translated reasons and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from flask_babel import ngettext
from sqlalchemy import select

from core.clock import utcnow
from core.extensions import csrf
from core.web.errors import error_page
from core.web.htmx import render
from core.web.pagination import requested_page
from tenants import access, db
from tenants.events import services as events
from tenants.events.models import Event
from tenants.events.wording import event_moment, event_when, locale_name
from tenants.messaging import email_texts, placeholders, services
from tenants.messaging.models import EventMessage
from tenants.participants.models import Participant
from tenants.registration.models import Registration
from tenants.settings import services as settings
from tenants.texts import pick

bp = Blueprint("messaging", __name__, template_folder="templates")
ID = "int(min=1, max=2147483647)"

AUDIENCE_LABELS = {
    "confirmed": _lp("audience", "Confirmed"), "waitlisted": _lp("audience", "On the waiting list"),
    "attended": _lp("audience", "Attended"),
    "absent": _lp("audience", "Absent (confirmed, no attendance recorded)"),
}
LANGUAGE_NAMES = {"fr": _l("French"), "en": _l("English")}


def _event_or_404(event_id: int) -> Event:
    event = events.get(db.session(), event_id)
    if event is None:
        abort(404)
    return event


def _text(texts: dict[str, str]) -> str:
    return pick(texts, locale_name(), settings.languages(db.session())[0])


@dataclass
class Draft:
    """What the compose form holds."""

    audiences: list[str]
    news: bool
    kind: str
    subject: dict[str, str]
    body: dict[str, str]


def _draft(languages: tuple[str, ...]) -> Draft:
    form = request.form
    return Draft(
        audiences=[name for name in form.getlist("audience") if name in services.AUDIENCES],
        news=form.get("news") == "y",
        kind="followup" if form.get("kind") == "followup" else "message",
        subject={lang: form.get(f"subject_{lang}", "").strip() for lang in languages},
        body={lang: form.get(f"body_{lang}", "").strip() for lang in languages})


def _errors(draft: Draft, languages: tuple[str, ...]) -> list[str]:
    errors = []
    if not draft.audiences:
        errors.append(_("Choose at least one group of recipients."))
    default = languages[0]
    for lang in languages:
        subject, body = draft.subject[lang], draft.body[lang]
        if lang != default and not subject and not body:
            continue  # falls back to the default language
        for reason in email_texts.check(subject, body, email_texts.MESSAGE_PLACEHOLDERS):
            errors.append(_("%(language)s: %(reason)s",
                            language=LANGUAGE_NAMES.get(lang, lang), reason=reason))
    return errors


def _sample(language: str) -> Participant:
    return Participant(id=0, email="preview@example.org", first_name=_("Camille"),
                       last_name="Martin", language=language)


def _previews(event: Event, draft: Draft, plan: services.Plan,
              languages: tuple[str, ...]) -> list[dict[str, Any]]:
    """The e-mail in each language, for the first recipient (or a sample person)."""
    session = db.session()
    registration = session.get(Registration, plan.registration_ids[0]) \
        if plan.registration_ids else None
    person = session.get(Participant, registration.participant_id) if registration else None
    message = EventMessage(subject=draft.subject, body=draft.body, news=draft.news)
    found = []
    for lang in languages:
        shown = person if person is not None else _sample(lang)
        email = services.render(session, message, event, shown, registration, lang)
        found.append({"language": LANGUAGE_NAMES.get(lang, lang), "lang": lang,
                      "subject": email.subject, "text": email.text,
                      "headers": email.headers})
    return found


def _page(event: Event, draft: Draft | None = None, *, errors: list[str] | None = None,
          previews: list[dict[str, Any]] | None = None, plan: services.Plan | None = None,
          status: int = 200) -> Any:
    session = db.session()
    languages = settings.languages(session)
    if draft is None:
        draft = Draft(["confirmed"], False, "message", dict.fromkeys(languages, ""),
                      dict.fromkeys(languages, ""))
        if request.args.get("template") == "followup":
            draft.kind, draft.audiences = "followup", ["attended"]
            for lang in languages:
                draft.subject[lang], draft.body[lang], _custom = email_texts.texts(
                    session, "followup", lang)
    return render("messaging/messages.html", status=status, event=event, draft=draft,
                  errors=errors or [], previews=previews, plan=plan,
                  languages=languages, language_names=LANGUAGE_NAMES,
                  audience_labels=AUDIENCE_LABELS,
                  log=services.log(session, event.id, requested_page()),
                  placeholders=email_texts.MESSAGE_PLACEHOLDERS, text=_text,
                  event_when=event_when, event_moment=event_moment, now=utcnow(),
                  can_send=access.has_role("manager"))


@bp.get(f"/admin/events/<{ID}:event_id>/messages")
@access.require_role("viewer")
def messages(event_id: int) -> Any:
    return _page(_event_or_404(event_id))


@bp.post(f"/admin/events/<{ID}:event_id>/messages")
@access.require_role("manager")
def send(event_id: int) -> Any:
    event = _event_or_404(event_id)
    session = db.session()
    languages = settings.languages(session)
    draft = _draft(languages)
    errors = _errors(draft, languages)
    if errors:
        return _page(event, draft, errors=errors, status=422)
    plan = services.plan(session, event, draft.audiences, draft.news)
    if request.form.get("action") != "send":
        return _page(event, draft, plan=plan, previews=_previews(event, draft, plan, languages))
    if not plan.registration_ids:
        return _page(event, draft, plan=plan, status=422, errors=[
            _("Nobody to send this message to: no registrant is in the chosen groups, or all "
              "of them were left out.")])
    message = services.create(
        session, event, subject={k: v for k, v in draft.subject.items() if v},
        body={k: v for k, v in draft.body.items() if v}, audiences=draft.audiences,
        news=draft.news, member_id=access.member_id(), kind=draft.kind)
    flash(ngettext("Your message is being sent to %(num)d person.",
                   "Your message is being sent to %(num)d people.", message.recipients),
          "messaging")
    return redirect(url_for("tenant.messaging.messages", event_id=event.id), code=303)


# --- the tenant's e-mail texts -----------------------------------------------------------------


def _kind_or_404(kind: str, language: str) -> email_texts.Kind:
    if kind not in email_texts.KINDS or language not in settings.languages(db.session()):
        abort(404)
    return email_texts.KINDS[kind]


@bp.get("/admin/email-texts")
@access.require_role("admin")
def email_text_index() -> Any:
    session = db.session()
    languages = settings.languages(session)
    rows = [(key, kind, [(lang, email_texts.saved(session, key, lang) is not None)
                         for lang in languages])
            for key, kind in email_texts.KINDS.items()]
    return render("messaging/email_texts.html", rows=rows, language_names=LANGUAGE_NAMES)


def _sample_event() -> Event:
    session = db.session()
    found = session.scalar(select(Event).order_by(Event.starts_at.desc()).limit(1))
    if found is not None:
        return found
    return Event(id=0, title={"fr": "Atelier", "en": "Workshop"}, starts_at=utcnow(),
                 ends_at=utcnow(), timezone="Europe/Paris")


def _text_preview(kind: str, language: str, subject: str, body: str) -> dict[str, str]:
    event = _sample_event()
    values = email_texts.values(
        event, language, first_name=_("Camille"), last_name="Martin",
        title=pick(event.title, language, settings.languages(db.session())[0]),
        event_url=url_for("tenant.events.show", event_id=event.id or 1, _external=True),
        join_link=url_for("tenant.events.show", event_id=event.id or 1, _external=True)
        + "#join", delay_minutes=60)
    return {"subject": placeholders.render_text(subject, values),
            "html": placeholders.render_html(body, values)}


@bp.route("/admin/email-texts/<kind>/<language>", methods=["GET", "POST"])
@access.require_role("admin")
def email_text(kind: str, language: str) -> Any:
    item = _kind_or_404(kind, language)
    session = db.session()
    subject, body, customised = email_texts.texts(session, kind, language)
    errors: list[str] = []
    preview = None
    status = 200
    if request.method == "POST":
        action = request.form.get("action")
        if action == "reset":
            email_texts.reset(session, kind, language)
            flash(_("The default text is back."), "messaging")
            return redirect(url_for("tenant.messaging.email_text", kind=kind,
                                    language=language), code=303)
        subject = request.form.get("subject", "")
        body = request.form.get("body", "")
        errors = email_texts.check(subject, body, item.placeholders)
        if errors:
            status = 422
        elif action == "save":
            email_texts.save(session, kind, language, subject, body)
            flash(_("The e-mail text is saved."), "messaging")
            return redirect(url_for("tenant.messaging.email_text", kind=kind,
                                    language=language), code=303)
        else:
            preview = _text_preview(kind, language, subject, body)
    return render("messaging/email_text.html", status=status, key=kind, item=item,
                  language=language, language_name=LANGUAGE_NAMES.get(language, language),
                  subject=subject, body=body, customised=customised, errors=errors,
                  preview=preview)


# --- unsubscribing from news (no sign-in) ------------------------------------------------------


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the secret; RFC 8058's one-click POST carries no form token
def unsubscribe(token: str) -> Any:
    session = db.session()
    participant = services.participant_of(session, token)
    if participant is None:
        return error_page(404, title=_("Unknown link"),
                          message=_("This unsubscribe link is not valid. You can manage the "
                                    "news you receive from your privacy page."))
    done = False
    if request.method == "POST":
        services.unsubscribe(session, participant)
        done = True
    subscribed = services.opted_in(session, {participant.id}) != set()
    return render("messaging/unsubscribe.html", token=token, done=done,
                  subscribed=subscribed, tenant_name=g.tenant.name)
