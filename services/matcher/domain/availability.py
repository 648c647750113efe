"""Weekly availability overlap across time zones, on the real calendar dates a program runs.

Each person's local windows are laid onto every calendar date of the program in their own zone
(zoneinfo, so each zone's DST switch lands on its own date), converted to minutes since the
program start, merged, and intersected with the partner's. A week counts by the longest
contiguous shared slot that *starts* in it (a session must fit in one slot) and by its total
shared minutes; a pair is judged by its worst week.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from services.matcher.domain.model import WEEKDAYS

WEEK = 7 * 24 * 60

Windows = tuple[tuple[str, str, str], ...]
Intervals = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Overlap:
    slot_minutes: int  # worst week's longest contiguous shared slot starting in that week
    weekly_minutes: int  # worst week's total shared minutes


NO_OVERLAP = Overlap(0, 0)


def program_start(starts_on: datetime | None, now: datetime | None = None) -> datetime:
    """The program's first instant in UTC, truncated to the minute; `now` (or the clock) if unset."""
    start = starts_on or now or datetime.now(UTC)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return start.astimezone(UTC).replace(second=0, microsecond=0)


def _hhmm(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


@lru_cache(maxsize=65536)
def intervals(timezone: str, windows: Windows, start: datetime, weeks: int) -> Intervals:
    """Merged availability as [start, end) minutes since `start`, clipped to the program's weeks."""
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        return ()
    by_day: dict[int, list[tuple[int, int]]] = {}
    for weekday, begin, end in windows:
        try:
            b, e = _hhmm(begin), _hhmm(end)
        except ValueError:
            continue
        if weekday in WEEKDAYS and 0 <= b < e <= 24 * 60:
            by_day.setdefault(WEEKDAYS.index(weekday), []).append((b, e))
    span = weeks * WEEK
    first = start.astimezone(zone).date() - timedelta(days=1)
    raw: list[tuple[int, int]] = []
    for offset in range(weeks * 7 + 3):
        day: date = first + timedelta(days=offset)
        for b, e in by_day.get(day.weekday(), ()):
            s = _minutes_since(start, day, b, zone)
            t = _minutes_since(start, day, e, zone)
            s, t = max(s, 0), min(t, span)
            if s < t:
                raw.append((s, t))
    raw.sort()
    merged: list[list[int]] = []
    for s, t in raw:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], t)
        else:
            merged.append([s, t])
    return tuple((s, t) for s, t in merged)


def _minutes_since(start: datetime, day: date, minute: int, zone: ZoneInfo) -> int:
    # aware + timedelta is wall-clock arithmetic: the offset is the zone's offset at that local time
    local = datetime.combine(day, time(0), tzinfo=zone) + timedelta(minutes=minute)
    return int((local.astimezone(UTC) - start).total_seconds() // 60)


def overlap_of(a: Intervals, b: Intervals, weeks: int) -> Overlap:
    """Worst-week longest slot and worst-week total of the intersection of two interval lists."""
    longest = [0] * weeks
    total = [0] * weeks
    i = j = 0
    while i < len(a) and j < len(b):
        s = max(a[i][0], b[j][0])
        t = min(a[i][1], b[j][1])
        for week in range(s // WEEK, min((t - 1) // WEEK, weeks - 1) + 1) if s < t else ():
            week_start = week * WEEK
            longest[week] = max(longest[week], t - max(s, week_start))
            total[week] += min(t, week_start + WEEK) - max(s, week_start)
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return Overlap(min(longest), min(total)) if weeks else NO_OVERLAP


def overlap(
    tz_a: str, windows_a: Windows, tz_b: str, windows_b: Windows, start: datetime, weeks: int
) -> Overlap:
    return _overlap(tz_a, windows_a, tz_b, windows_b, start, weeks)


@lru_cache(maxsize=262144)
def _overlap(tz_a: str, windows_a: Windows, tz_b: str, windows_b: Windows, start: datetime, weeks: int) -> Overlap:
    return overlap_of(intervals(tz_a, windows_a, start, weeks), intervals(tz_b, windows_b, start, weeks), weeks)
