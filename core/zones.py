"""Time zones: the IANA names this system knows and the short list offered first.

A tenant has a time zone (its settings: every time its pages and e-mails show outside an
event's own), and each event has one (where it is organised); both choose from here.
"""

from __future__ import annotations

import functools
from zoneinfo import available_timezones

DEFAULT_ZONE = "Europe/Paris"

# The zones offered, most likely first; IANA names are the same in every language.
COMMON_ZONES = (
    "Europe/Paris", "Europe/Brussels", "Europe/Luxembourg", "Europe/Zurich", "Europe/London",
    "Europe/Dublin", "Europe/Lisbon", "Europe/Madrid", "Europe/Rome", "Europe/Berlin",
    "Europe/Amsterdam", "Europe/Athens", "Europe/Kyiv", "UTC",
    "America/Montreal", "America/Toronto", "America/New_York", "America/Chicago",
    "America/Denver", "America/Los_Angeles", "America/Mexico_City", "America/Sao_Paulo",
    "America/Martinique", "America/Guadeloupe", "America/Cayenne", "America/Miquelon",
    "Africa/Dakar", "Africa/Abidjan", "Africa/Casablanca", "Africa/Algiers", "Africa/Tunis",
    "Africa/Douala", "Africa/Kinshasa", "Africa/Lagos", "Africa/Nairobi",
    "Africa/Johannesburg", "Indian/Reunion", "Indian/Mayotte", "Indian/Mauritius",
    "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo",
    "Australia/Sydney", "Pacific/Noumea", "Pacific/Tahiti",
)


@functools.cache
def known_zones() -> frozenset[str]:
    """IANA time zone names this system can convert (read once: it scans the tz database)."""
    return frozenset(available_timezones())


def offered(current: str | None = None) -> list[tuple[str, str]]:
    """(value, label) of the curated zones this system knows, plus ``current`` if it is a known
    zone outside the list (an event or tenant set to it keeps it)."""
    zones = [zone for zone in COMMON_ZONES if zone in known_zones()]
    if current and current not in zones and current in known_zones():
        zones.insert(0, current)
    return [(zone, label(zone)) for zone in zones]


def label(zone: str) -> str:
    """How a zone is named to readers: its IANA name with spaces ("America/New York")."""
    return zone.replace("_", " ")
