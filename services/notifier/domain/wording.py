"""Small English phrasing helpers: lists, local times, field names."""

import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from shared.contract.events import Teaching

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


def join_words(items: Sequence[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def skills(teachings: Sequence[Teaching]) -> list[str]:
    """Distinct skills, in order."""
    return list(dict.fromkeys(t.skill for t in teachings))


def zone_label(moment: datetime, zone: ZoneInfo) -> str:
    abbreviation = moment.astimezone(zone).tzname() or ""
    return zone.key if abbreviation in ("", zone.key) else f"{zone.key}, {abbreviation}"


def local_date(moment: datetime) -> str:
    return f"{WEEKDAYS[moment.weekday()]} {moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """'Tuesday 12 January 2027, 09:30 (America/New_York, EST)'."""
    local = moment.astimezone(zone)
    return f"{local_date(local)}, {local:%H:%M} ({zone_label(moment, zone)})"


def local_span(starts_at: datetime, ends_at: datetime, zone: ZoneInfo) -> str:
    """'Tuesday 12 January 2027, 09:30–10:30 (America/New_York, EST)'; the end date is spelled out
    only if it differs."""
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{local_date(end)}, {end:%H:%M}"
    return f"{local_date(start)}, {start:%H:%M}–{end_text} ({zone_label(starts_at, zone)})"


FIELD_LABELS = {
    "person_id": "person id",
    "display_name": "name",
    "email": "email address",
    "timezone": "time zone",
    "languages": "languages",
    "locale": "language setting",
    "career_stage": "career stage",
    "manager_id": "manager",
    "offers": "skills you offer",
    "wants": "skills you want to learn",
    "meeting_modes": "meeting modes",
    "availability": "availability",
    "max_partners": "maximum number of partners",
    "program_ids": "programs",
    "webhook_url": "webhook address",
    "weekday": "day",
}


def field_in_words(path: str) -> str:
    """'availability[0].end' -> 'Availability, entry 1, end'."""
    words = []
    for segment in filter(None, path.split(".")):
        m = re.fullmatch(r"([^\[\]]*)((?:\[\d+\])*)", segment)
        name, indexes = (m.group(1), m.group(2)) if m else (segment, "")
        if name:
            words.append(FIELD_LABELS.get(name, name.replace("_", " ")))
        words.extend(f"entry {int(i) + 1}" for i in re.findall(r"\d+", indexes))
    text = ", ".join(words) or "profile"
    return text[0].upper() + text[1:]
