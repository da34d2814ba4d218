"""Calendar files (iCalendar, RFC 5545): one event, with its own time zone.

Written by hand rather than with a library: an event file is a few lines, and what matters is
kept here in one place: the start and end given in the event's IANA zone (``TZID``) with a
``VTIMEZONE`` describing that zone's offsets around the event (every transition from a year
before to a year after), so a calendar that does not know the zone still shows the right time;
texts escaped (``\\``, ``;``, ``,``, new lines) and lines folded at 75 octets; ``UID`` stable
for an event and ``SEQUENCE`` raised by the caller at each change, so a calendar replaces the
entry it has; ``METHOD:CANCEL`` with ``STATUS:CANCELLED`` to remove it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Method = Literal["PUBLISH", "REQUEST", "CANCEL"]
PRODID = "-//Parvis//Events//EN"


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    sequence: int
    starts_at: datetime  # aware
    ends_at: datetime  # aware
    timezone: str  # IANA name
    summary: str
    description: str = ""
    url: str = ""  # the event page, or the personal join link
    location: str = ""
    organizer: str = ""  # an e-mail address (REQUEST and CANCEL need one)
    attendee: str = ""  # an e-mail address
    updated_at: datetime | None = None  # DTSTAMP (default: now)


def escape(text: str) -> str:
    """A TEXT value (RFC 5545 3.3.11)."""
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """Split a content line into lines of at most 75 octets, continuations starting with a
    space, never inside a UTF-8 character."""
    out: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def _local(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The UTC instants in [start, end) where the zone's UTC offset changes (to the minute)."""
    found: list[datetime] = []
    step = timedelta(hours=6)
    moment = start.astimezone(UTC)
    while moment < end:
        after = min(moment + step, end)
        if moment.astimezone(zone).utcoffset() != after.astimezone(zone).utcoffset():
            low, high = moment, after  # the change is in (low, high]: halve to the minute
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high.replace(second=0, microsecond=0))
        moment = after
    return found


def vtimezone(name: str, around: datetime) -> list[str]:
    """A VTIMEZONE for ``name`` valid from a year before ``around`` to a year after."""
    zone = ZoneInfo(name)
    start, end = around - timedelta(days=366), around + timedelta(days=366)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{name}"]
    changes = transitions(zone, start, end)
    # The offset in force at the start of the span, then one sub-component per change.
    first = start.astimezone(zone)
    parts = [(start, first.utcoffset(), first.utcoffset(), first)]
    for moment in changes:
        before = (moment - timedelta(minutes=1)).astimezone(zone).utcoffset()
        parts.append((moment, before, moment.astimezone(zone).utcoffset(),
                      moment.astimezone(zone)))
    for moment, offset_from, offset_to, local in parts:
        kind = "DAYLIGHT" if local.dst() else "STANDARD"
        # DTSTART is local time in the offset being left (RFC 5545 3.6.5).
        wall = moment.astimezone(UTC) + (offset_from or timedelta())
        lines += [f"BEGIN:{kind}", f"DTSTART:{_local(wall.replace(tzinfo=None))}",
                  f"TZOFFSETFROM:{_offset(offset_from)}", f"TZOFFSETTO:{_offset(offset_to)}"]
        if local.tzname():
            lines.append(f"TZNAME:{escape(local.tzname() or '')}")
        lines.append(f"END:{kind}")
    lines.append("END:VTIMEZONE")
    return lines


def calendar(event: CalendarEvent, method: Method = "PUBLISH") -> str:
    """The .ics text of one event (CRLF line ends, as the RFC asks)."""
    zone = ZoneInfo(event.timezone)
    cancelled = method == "CANCEL"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN",
             f"METHOD:{method}", *vtimezone(event.timezone, event.starts_at),
             "BEGIN:VEVENT", f"UID:{escape(event.uid)}", f"SEQUENCE:{event.sequence}",
             f"DTSTAMP:{_utc(event.updated_at or datetime.now(UTC))}",
             f"DTSTART;TZID={event.timezone}:{_local(event.starts_at.astimezone(zone))}",
             f"DTEND;TZID={event.timezone}:{_local(event.ends_at.astimezone(zone))}",
             f"SUMMARY:{escape(event.summary)}"]
    if event.description:
        lines.append(f"DESCRIPTION:{escape(event.description)}")
    if event.location:
        lines.append(f"LOCATION:{escape(event.location)}")
    if event.url:
        lines.append(f"URL:{event.url}")
    if event.organizer:
        lines.append(f"ORGANIZER:mailto:{event.organizer}")
    if event.attendee:
        lines.append(f"ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:{event.attendee}")
    lines += [f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}", "TRANSP:OPAQUE",
              "END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(fold(line) for line in lines) + "\r\n"
