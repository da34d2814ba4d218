"""The event form: texts per tenant language, local times in a chosen time zone, seats, rules.

An admin types wall-clock times as they will happen where the event is organised; the form
reads them in the chosen IANA zone and hands UTC instants to the services. A local time that
does not exist (the hour skipped when clocks go forward) is refused with an explanation; one
that happens twice (clocks go back) means the first of the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    Field,
    FormField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    URLField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from core import zones
from tenants.events.models import DEFAULT_JOIN_OPENS, JOIN_OPENS_MINUTES, Event
from tenants.events.services import MAX_CAPACITY
from tenants.texts import clean, texts_form

REMINDER_CHOICES = (SelectChoice(10080, _l("1 week before")),
                    SelectChoice(1440, _l("24 hours before")),
                    SelectChoice(60, _l("1 hour before")))
TIME_FIELDS = ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at")
FIRST_YEAR, LAST_YEAR = 2000, 2100
# "T" first: it is how a datetime-local input renders and submits its value.
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def zone_choices(current: str | None = None) -> list[SelectChoice]:
    """The curated zones this system knows, plus an event's own zone if it is another one."""
    return [SelectChoice(value, text) for value, text in zones.offered(current)]


class LocalTimeError(ValueError):
    """A wall-clock time that does not exist in the zone (DST gap) or is out of range."""


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive wall-clock time in ``zone`` (fold=0 when it happens twice)."""
    if not FIRST_YEAR <= local.year <= LAST_YEAR:
        raise LocalTimeError("range")
    aware = local.replace(tzinfo=zone, fold=0)
    instant = aware.astimezone(UTC)
    # A time in the gap comes back shifted by the gap's length: it never happens there.
    if instant.astimezone(zone).replace(tzinfo=None) != local:
        raise LocalTimeError("gap")
    return instant


def to_local(instant: datetime | None, zone: str) -> datetime | None:
    """What a datetime-local input shows for a stored UTC instant."""
    if instant is None:
        return None
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def http_url(form: FlaskForm, field: Field) -> None:
    """An absolute http(s) address with a host, and nothing that could break out of it."""
    value = field.data or ""
    if not value:
        return
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 — raises ValueError for a port that is not a number in range
    except ValueError:
        parts = None
    if (parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname
            or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value)):
        raise ValidationError(_l("Enter a web address starting with https:// or http://."))


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _local_time(label: Any, *, required: bool, description: Any = "") -> DateTimeLocalField:
    return DateTimeLocalField(
        label, format=LOCAL_FORMATS, description=description,
        invalid_value_message=_l("Enter a date and time, e.g. 2031-01-15 10:00."),
        validators=[DataRequired(_l("Enter a date and time.")) if required else Optional()])


class EventFields(FlaskForm):
    """Everything but the texts, whose inputs depend on the tenant's languages."""

    timezone = SelectField(_l("Time zone"), description=_l(
        "The event's dates and times, and its registration dates, are read in this zone "
        "and shown in it."),
        validators=[DataRequired()])
    starts_at = _local_time(_l("Starts"), required=True)
    ends_at = _local_time(_l("Ends"), required=True)
    capacity = IntegerField(
        _l("Capacity"), description=_l("Number of seats; leave empty for no limit."),
        validators=[Optional(), NumberRange(min=1, max=MAX_CAPACITY, message=_l(
            "Enter a number of seats between %(min)s and %(max)s, or leave it empty."))])
    registration_opens_at = _local_time(
        _l("Registration opens"), required=False,
        description=_l("Optional; registration is open as soon as the event is published."))
    registration_closes_at = _local_time(
        _l("Registration closes"), required=False,
        description=_l("Optional; at the latest when the event starts."))
    approval = SelectField(_l("Approval"), choices=[
        SelectChoice("auto", _l("Automatic: registrations are confirmed at once")),
        SelectChoice("manual", _l("Manual: a manager approves each registration"))])
    waitlist = BooleanField(_l("Waiting list when the event is full"))
    join_url = URLField(
        _l("Join link"), filters=[_strip],
        description=_l("The meeting address. Each confirmed participant receives a personal "
                       "link by e-mail that records their attendance and leads here; this "
                       "address is never shown on a page."),
        validators=[Optional(), Length(max=2000), http_url])
    join_opens_minutes = IntegerField(
        _l("Personal links work from (minutes before the start)"),
        description=_l("Between %(min)s and %(max)s minutes; until an hour after the end.",
                       min=JOIN_OPENS_MINUTES[0], max=JOIN_OPENS_MINUTES[1]),
        validators=[Optional(),
                    NumberRange(min=JOIN_OPENS_MINUTES[0], max=JOIN_OPENS_MINUTES[1],
                                message=_l("Enter a number of minutes between %(min)s and "
                                           "%(max)s."))])
    reminders = SelectMultipleField(_l("Reminders by e-mail"), coerce=int,
                                    choices=list(REMINDER_CHOICES))
    status = SelectField(_l("Status"), choices=[
        SelectChoice("draft", _l("Draft: visible to the team only")),
        SelectChoice("published", _l("Published: visible to everyone"))])

    def __init__(self, *args: Any, seats_taken: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seats_taken = seats_taken
        self.times: dict[str, datetime | None] = {}

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.timezone.errors or self.timezone.data not in zones.known_zones():
            return False
        zone = ZoneInfo(self.timezone.data)
        self.times = {}
        for name in TIME_FIELDS:
            field = self[name]
            if field.errors or field.data is None:
                self.times[name] = None
                continue
            try:
                self.times[name] = to_utc(field.data, zone)
            except LocalTimeError as exc:
                field.errors.append(
                    _l("This time does not exist in %(zone)s: the clocks skip it when they "
                       "change. Choose another time.", zone=self.timezone.data)
                    if str(exc) == "gap" else
                    _l("Enter a date between %(first)s and %(last)s.", first=FIRST_YEAR,
                       last=LAST_YEAR))
                valid = False
        return self._check_order() and valid

    def _check_order(self) -> bool:
        start, end = self.times.get("starts_at"), self.times.get("ends_at")
        opens = self.times.get("registration_opens_at")
        closes = self.times.get("registration_closes_at")
        errors: list[tuple[Field, Any]] = []
        if start and end and end <= start:
            errors.append((self.ends_at, _l("The end must be after the start.")))
        if start and closes and closes > start:
            errors.append((self.registration_closes_at,
                           _l("Registration must close before the event starts, or when it "
                              "starts.")))
        if opens and closes and opens >= closes:
            errors.append((self.registration_opens_at,
                           _l("Registration must open before it closes.")))
        elif opens and start and opens >= start:
            errors.append((self.registration_opens_at,
                           _l("Registration must open before the event starts.")))
        if self.capacity.data is not None and self.capacity.data < self.seats_taken:
            errors.append((self.capacity, _l(
                "%(taken)s seats are already taken: the capacity cannot be lower. Cancel "
                "registrations first, or keep at least %(taken)s seats.",
                taken=self.seats_taken)))
        for field, message in errors:
            field.errors.append(message)
        return not errors

    def values(self, languages: tuple[str, ...]) -> dict[str, Any]:
        """The validated form as arguments for ``services.create`` / ``services.update``."""
        return {
            "title": clean(self["title"].data, languages),
            "description": clean(self["description"].data, languages),
            "timezone": self.timezone.data,
            "starts_at": self.times["starts_at"],
            "ends_at": self.times["ends_at"],
            "registration_opens_at": self.times["registration_opens_at"],
            "registration_closes_at": self.times["registration_closes_at"],
            "capacity": self.capacity.data,
            "approval": self.approval.data,
            "waitlist": self.waitlist.data,
            "join_url": self.join_url.data or "",
            "join_opens_minutes": (DEFAULT_JOIN_OPENS if self.join_opens_minutes.data is None
                                   else self.join_opens_minutes.data),
            "reminders": sorted(set(self.reminders.data or []), reverse=True),
            "status": self.status.data,
        }


def event_form(languages: tuple[str, ...], event: Event | None = None, *,
               zone: str = zones.DEFAULT_ZONE) -> EventFields:
    """The form for a new event (in the tenant's ``zone`` by default), or for ``event`` (its
    values, read in its own zone)."""
    form_class = type("EventForm", (EventFields,), {
        "title": FormField(texts_form(languages, required=languages[0], max_length=200),
                           label=_l("Title")),
        "description": FormField(texts_form(languages, max_length=5000, multiline=True),
                                 label=_l("Description")),
    })
    if event is None:
        data: dict[str, Any] = {"timezone": zone, "approval": "auto",
                                "waitlist": True, "reminders": [1440, 60], "status": "draft",
                                "join_opens_minutes": DEFAULT_JOIN_OPENS}
        form = form_class(data=data)
    else:
        data = {name: getattr(event, name) for name in (
            "title", "description", "timezone", "capacity", "approval", "waitlist",
            "join_url", "join_opens_minutes", "reminders", "status")}
        data.update({name: to_local(getattr(event, name), event.timezone)
                     for name in TIME_FIELDS})
        form = form_class(data=data, seats_taken=event.seats_taken)
    form.timezone.choices = zone_choices(event.timezone if event else zone)
    return form
