"""Where each week's session goes: one usual weekly time (in A's clock), moved to the week's best
shared slot where it does not fit, and flagged only when the week has no shared slot at all.

A session belongs to the week (Monday to Monday, UTC) it starts in, the same weeks the matcher
judges (`shared.availability`); it may run on into the next week, never into the next session."""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.scheduler.domain.model import Participant
from services.scheduler.domain.slots import best_slot, grid_ceil, week_overlap
from services.scheduler.domain.weeks import week_span
from shared.availability import Interval, fits, free, local_instant

WeeklyKey = tuple[int, int]  # (weekday 0-6, minutes after midnight) in A's zone


@dataclass(frozen=True)
class Week:
    number: int
    monday: date
    span: Interval
    shared: list[Interval]
    floor: datetime
    best: datetime | None


@dataclass(frozen=True)
class Placement:
    start: datetime
    flagged: str | None = None


def weeks_of(a: Participant, b: Participant, mondays: Mapping[int, date], length: timedelta,
             not_before: datetime) -> list[Week]:
    weeks = []
    for number, monday in sorted(mondays.items()):
        span = week_span(monday)
        floor = max(not_before, span[0])
        shared = week_overlap(a, b, span)
        weeks.append(Week(number, monday, span, shared, floor, _best_in_week(shared, length, floor, span[1])))
    return weeks


def _best_in_week(shared: Sequence[Interval], length: timedelta, floor: datetime, end: datetime) -> datetime | None:
    """The week's best start, preferring one whose session also ends inside the week: a session that
    runs on past Monday 00:00 UTC eats into the next week's time, which may then have none left."""
    return best_slot(shared, length, floor, end - length + timedelta(microseconds=1)) or best_slot(
        shared, length, floor, end)


def place(a: Participant, b: Participant, weeks: Sequence[Week], length: timedelta,
          preferred: Mapping[int, datetime]) -> dict[int, Placement]:
    """A week keeps its preferred time while that fits, else takes the usual weekly time, else the
    week's own best slot. Only a week with no shared slot at all is flagged, so no other choice of
    weekly time could flag fewer weeks; it keeps its preferred (or usual) time as a best effort."""
    tz = a.zone
    usual = _usual_key(weeks, tz)
    placed = {}
    previous_end: datetime | None = None
    for week in weeks:
        floor, best = week.floor, week.best
        if previous_end and previous_end > floor:  # the session before runs on into this week
            floor, best = previous_end, _best_in_week(week.shared, length, previous_end, week.span[1])
        wanted = preferred.get(week.number)
        habit = _at_key(usual, week.span, tz) if usual else None
        start = next((t for t in (wanted, habit, best)
                      if t and floor <= t < week.span[1] and fits(week.shared, t, length)), None)
        if start is not None:
            placed[week.number] = Placement(start)
        else:
            start = next((t for t in (wanted, habit) if t and floor <= t and t + length <= week.span[1]),
                         grid_ceil(floor))
            placed[week.number] = Placement(start, flag_text(a, b, week, start, length))
        previous_end = start + length
    return placed


def flag_text(a: Participant, b: Participant, week: Week, start: datetime, length: timedelta) -> str:
    outside = [p for p in (a, b) if not free(p.timezone, p.availability, start, length)]
    where = (f"{outside[0].name}'s window" if len(outside) == 1
             else f"{a.name}'s and {b.name}'s windows")
    minutes = int(length.total_seconds()) // 60
    return (f"No {minutes}-minute time in the week of {week.monday.isoformat()} (Monday to Monday, UTC) "
            f"lies inside the availability of both {a.name} and {b.name} (time zones or daylight "
            f"saving time); kept a best-effort time outside {where}.")


def _usual_key(weeks: Sequence[Week], tz: ZoneInfo) -> WeeklyKey | None:
    """The most common best slot across the weeks (the earliest-seen on ties), in A's clock."""
    keys = Counter(_key(week.best, tz) for week in weeks if week.best)
    return keys.most_common(1)[0][0] if keys else None


def _key(start: datetime, tz: ZoneInfo) -> WeeklyKey:
    local = start.astimezone(tz)
    return local.weekday(), local.hour * 60 + local.minute


def _at_key(key: WeeklyKey, span: Interval, tz: ZoneInfo) -> datetime | None:
    """The instant in span that A's clock shows as `key`, if there is one."""
    weekday, minutes = key
    day = span[0].astimezone(tz).date()
    day += timedelta(days=(weekday - day.weekday()) % 7)
    for candidate in (day, day + timedelta(weeks=1)):
        instant = local_instant(tz, candidate, minutes)
        if span[0] <= instant < span[1]:
            return instant
    return None
