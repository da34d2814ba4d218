"""The tenant's texts of the registration e-mails: confirmation, reminder and follow-up, per
language, with placeholders; none saved means Parvis's default (a reset deletes the row).

Only the subject and the message paragraph are the tenant's: the greeting, the event's details,
the join link and whatever else the feature e-mail carries (a calendar file…) stay around them,
so ``for_registration`` works for any registration e-mail kind mapped to a text here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from tenants.events.models import Event
from tenants.events.wording import event_when
from tenants.messaging import placeholders
from tenants.messaging.models import EmailTemplate

COMMON = ("first_name", "last_name", "event_title", "event_date", "event_url")


@dataclass(frozen=True)
class Kind:
    label: Any  # lazy string
    subject: Any  # the default texts (lazy, placeholder syntax)
    body: Any
    placeholders: tuple[str, ...]
    registration_kinds: tuple[str, ...]  # the registration e-mails it writes


KINDS: dict[str, Kind] = {
    "confirmation": Kind(
        _l("Registration confirmation"), _l("Registration confirmed: {event_title}"),
        _l("Your registration is confirmed. See you at the event!"),
        (*COMMON, "join_link"), ("confirmed", "promoted")),
    "reminder": Kind(
        _l("Reminder before the event"), _l("Reminder: {event_title} starts in {delay}"),
        _l("This is a reminder: the event starts in {delay}."),
        (*COMMON, "join_link", "delay"), ("reminder",)),
    "followup": Kind(
        _l("Follow-up after the event"), _l("Thank you for attending {event_title}"),
        _l("Hello {first_name},\n\nThank you for attending {event_title} on {event_date}. "
           "We hope to see you again soon.\n\nYou can rate the event from your registrations: "
           "{event_url}"),
        COMMON, ()),
}
MESSAGE_PLACEHOLDERS = (*COMMON, "join_link")
SUBJECT_MAX = 200
BODY_MAX = 10000


def saved(db: Session, kind: str, language: str) -> EmailTemplate | None:
    return db.scalar(select(EmailTemplate).where(EmailTemplate.kind == kind,
                                                 EmailTemplate.language == language))


def texts(db: Session, kind: str, language: str) -> tuple[str, str, bool]:
    """(subject, body, customised) of ``kind`` in ``language``: the tenant's or the default."""
    row = saved(db, kind, language)
    if row is not None:
        return row.subject, row.body, True
    with force_locale(language):
        return str(KINDS[kind].subject), str(KINDS[kind].body), False


def check(subject: str, body: str, allowed: tuple[str, ...]) -> list[str]:
    """Translated reasons why these texts cannot be saved (empty: they can)."""
    errors = []
    if not subject.strip():
        errors.append(_("The subject is empty."))
    elif len(subject) > SUBJECT_MAX or "\n" in subject.strip() or "\r" in subject.strip():
        errors.append(_("The subject must be one line of at most %(max)d characters.",
                        max=SUBJECT_MAX))
    if not body.strip():
        errors.append(_("The message is empty."))
    elif len(body) > BODY_MAX:
        errors.append(_("The message is longer than %(max)d characters.", max=BODY_MAX))
    wrong = placeholders.problems(subject, allowed) + placeholders.problems(body, allowed)
    if wrong:
        errors.append(_("Unknown placeholder or stray brace: %(found)s. Use %(allowed)s "
                        "(write {{ and }} for a brace).",
                        found=", ".join(dict.fromkeys(wrong)),
                        allowed=", ".join("{" + name + "}" for name in allowed)))
    return errors


def save(db: Session, kind: str, language: str, subject: str, body: str) -> None:
    row = saved(db, kind, language)
    if row is None:
        row = EmailTemplate(kind=kind, language=language, subject="", body="",
                            updated_at=utcnow())
        db.add(row)
    row.subject, row.body, row.updated_at = subject.strip(), body.strip(), utcnow()


def reset(db: Session, kind: str, language: str) -> None:
    db.execute(delete(EmailTemplate).where(EmailTemplate.kind == kind,
                                           EmailTemplate.language == language))


def delay_words(minutes: int) -> str:
    """How long before the start a reminder goes: "24 hours", "30 minutes" (the current
    locale; the same words as the reminder e-mail's own)."""
    if minutes % 60 == 0:
        return ngettext("%(num)d hour", "%(num)d hours", minutes // 60)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


def values(event: Event, language: str, *, first_name: str = "", last_name: str = "",
           title: str = "", event_url: str = "", join_link: str | None = "",
           delay_minutes: int = 0) -> dict[str, str]:
    """The placeholders' values for one recipient, in ``language``."""
    with force_locale(language):
        when = event_when(event)
        delay = delay_words(delay_minutes) if delay_minutes else ""
    return {"first_name": first_name, "last_name": last_name, "event_title": title,
            "event_date": when, "event_url": event_url, "join_link": join_link or "",
            "delay": delay}


def for_registration(db: Session, registration_kind: str, language: str, *,
                     participant: Any, event: Event, title: str, event_url: str,
                     join_url: str | None, offset_minutes: int = 0,
                     ) -> tuple[str, dict[str, Any]] | None:
    """The template and context that write a registration e-mail with the tenant's text, when
    the tenant saved one for this kind and language; None: the feature's own template."""
    kind = next((key for key, item in KINDS.items()
                 if registration_kind in item.registration_kinds), None)
    if kind is None:
        return None
    row = saved(db, kind, language)
    if row is None:
        return None
    filled = values(event, language, first_name=participant.first_name,
                    last_name=participant.last_name, title=title, event_url=event_url,
                    join_link=join_url, delay_minutes=offset_minutes)
    return "messaging/email/custom", {
        "custom_subject": placeholders.render_text(row.subject, filled),
        "custom_text": placeholders.render_text(row.body, filled),
        "custom_html": placeholders.render_html(row.body, filled, inline=True)}
