"""How an event's time is worded, in its own zone and the reader's language: on its pages, in
the e-mails about it, and wherever another feature names it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_timezone_gmt
from flask_babel import get_locale
from flask_babel import gettext as _

from tenants.events.models import Event


def locale_name() -> str:
    """The language of the page or e-mail being written (French by default)."""
    return str(get_locale() or "fr")


def event_moment(moment: datetime, event: Event) -> str:
    """A date and time in the event's zone, e.g. "15 January 2031 at 10:00"."""
    zone = ZoneInfo(event.timezone)
    return _("%(date)s at %(time)s",
             date=format_date(moment.astimezone(zone), "long", locale=locale_name()),
             time=format_time(moment, "short", tzinfo=zone, locale=locale_name()))


def event_when(event: Event) -> str:
    """When the event happens, in its own zone, with the zone named and its UTC offset."""
    zone = ZoneInfo(event.timezone)
    start, end = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    locale = locale_name()
    label = f"{event.timezone.replace('_', ' ')}, {get_timezone_gmt(start, locale=locale)}"
    if start.date() == end.date():
        return _("%(day)s, %(start)s\u2013%(end)s (%(zone)s)",
                 day=format_date(start, "full", locale=locale),
                 start=format_time(start, "short", tzinfo=zone, locale=locale),
                 end=format_time(end, "short", tzinfo=zone, locale=locale), zone=label)
    return _("%(start)s to %(end)s (%(zone)s)", start=event_moment(event.starts_at, event),
             end=event_moment(event.ends_at, event), zone=label)
