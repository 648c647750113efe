"""Independent checks for scheduler tests: they re-derive local times with zoneinfo directly
instead of trusting the code under test."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.scheduler.domain import Participant, SeriesPlan

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def local_inside(person: Participant, instant: datetime) -> list[tuple[str, str, str]]:
    """The person's windows whose wall-clock range holds `instant` (start inclusive, end inclusive)."""
    local = instant.astimezone(ZoneInfo(person.timezone))
    wd, at = WEEKDAYS[local.weekday()], local.hour * 60 + local.minute + local.second / 60
    return [w for w in person.availability if w[0] == wd and minutes(w[1]) <= at <= minutes(w[2])]


def inside(person: Participant, start: datetime, end: datetime) -> bool:
    """Start and end fall in the same window on the same local date, and so does every
    quarter-hour in between (catches DST folds inside a session)."""
    tz = ZoneInfo(person.timezone)
    ls, le = start.astimezone(tz), end.astimezone(tz)
    end_minutes = (le.date() - ls.date()).days * 1440 + le.hour * 60 + le.minute
    wd = WEEKDAYS[ls.weekday()]
    windows = [w for w in person.availability
               if w[0] == wd and minutes(w[1]) <= ls.hour * 60 + ls.minute and end_minutes <= minutes(w[2])]
    if not windows:
        return False
    t = start
    while t < end:
        if not local_inside(person, t):
            return False
        t += timedelta(minutes=15)
    return True


def person(pid: str, name: str, tz: str, *windows: tuple[str, str, str], modes=("video",), site="",
           wants=()) -> Participant:
    return Participant(pid, name, tz, site, tuple(modes), tuple(windows), tuple(wants))


def plan(cadence="weekly", weeks=12, minutes_=60, starts_on=None, rules=None) -> SeriesPlan:
    kwargs = {} if rules is None else {"ground_rules": tuple(rules)}
    return SeriesPlan("prog-1", minutes_, cadence, weeks, starts_on, **kwargs)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)
