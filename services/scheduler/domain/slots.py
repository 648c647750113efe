"""Availability windows as UTC intervals on concrete dates, their overlap, and slot choice.

Intervals are closed `(start, end)` pairs of aware UTC datetimes. Each one is (part of) a single
availability window: windows are never merged with each other, even when they touch or overlap,
because a session must lie inside one window of each person on its local date.
"""

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.scheduler.domain.model import Participant, WindowTuple

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
GRID = timedelta(minutes=15)
_SECOND = timedelta(seconds=1)
_EPOCH = datetime(2000, 1, 3, tzinfo=UTC)

Interval = tuple[datetime, datetime]


@lru_cache(maxsize=None)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def known_zone(name: str) -> bool:
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def hhmm(value: str) -> timedelta:
    """'HH:MM' as an offset from midnight; '24:00' is the end of the day."""
    hours, minutes = value.split(":")
    return timedelta(hours=int(hours), minutes=int(minutes))


def _offset_at(tz: ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(tz).utcoffset()


def _transition(tz: ZoneInfo, lo: datetime, hi: datetime) -> datetime:
    """First instant in (lo, hi] whose UTC offset equals the one at hi (one transition assumed)."""
    target = _offset_at(tz, hi)
    low, high = 0, int((hi - lo).total_seconds())
    while high - low > 1:
        mid = (low + high) // 2
        if _offset_at(tz, lo + timedelta(seconds=mid)) == target:
            high = mid
        else:
            low = mid
    return lo + timedelta(seconds=high)


def to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """A naive wall-clock time in tz as a UTC instant: the earlier one if the clock repeats,
    the moment the clock jumps if that wall-clock time does not exist."""
    first = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == local:
        return first
    second = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    return _transition(tz, min(first, second), max(first, second))


def _clip_to_offset(tz: ZoneInfo, lo: datetime, hi: datetime, offset: timedelta) -> Interval | None:
    starts_in, ends_in = _offset_at(tz, lo) == offset, _offset_at(tz, hi) == offset
    if starts_in and ends_in:
        return lo, hi
    if not (starts_in or ends_in):
        return None
    switch = _transition(tz, lo, hi)
    # The switch instant itself already reads on the new offset's wall clock.
    return (lo, switch - _SECOND) if starts_in else (switch, hi)


def window_on(tz: ZoneInfo, day: date, start: str, end: str) -> list[Interval]:
    """The instants whose wall-clock time in tz on `day` lies within [start, end].

    Around a DST change the wall clock skips or repeats an hour, so the set is built per UTC
    offset in force that day and can come out in two pieces.
    """
    midnight = datetime.combine(day, time())
    first, last = midnight + hhmm(start), midnight + hhmm(end)
    offsets = {tz.utcoffset(t.replace(fold=fold)) for t in (first, last) for fold in (0, 1)}
    pieces = []
    for offset in offsets:
        lo, hi = (first - offset).replace(tzinfo=UTC), (last - offset).replace(tzinfo=UTC)
        piece = _clip_to_offset(tz, lo, hi, offset)
        if piece and piece[0] <= piece[1]:
            pieces.append(piece)
    return merge(pieces)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Join pieces of one window that touch (the two sides of a DST jump)."""
    merged: list[Interval] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1] + _SECOND:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def occurrences(tz: ZoneInfo, window: WindowTuple, span: Interval) -> list[Interval]:
    """One weekly window on the actual dates around span, clipped to span."""
    weekday, start, end = window
    first = span[0].astimezone(tz).date() - timedelta(days=1)
    last = span[1].astimezone(tz).date() + timedelta(days=1)
    day = first + timedelta(days=(WEEKDAYS.index(weekday) - first.weekday()) % 7)
    found = []
    while day <= last:
        for lo, hi in window_on(tz, day, start, end):
            lo, hi = max(lo, span[0]), min(hi, span[1])
            if lo < hi:
                found.append((lo, hi))
        day += timedelta(weeks=1)
    return found


def availability(person: Participant, span: Interval) -> list[Interval]:
    """The person's windows, on the actual dates, clipped to span: one interval per window
    occurrence, sorted, never merged across windows."""
    return list(_availability(person, span))


@lru_cache(maxsize=4096)
def _availability(person: Participant, span: Interval) -> tuple[Interval, ...]:
    tz = zone(person.timezone)
    return tuple(sorted({piece for window in person.availability for piece in occurrences(tz, window, span)}))


def intersect(xs: Sequence[Interval], ys: Sequence[Interval]) -> list[Interval]:
    """Every non-empty intersection of one x with one y, sorted; a session inside one of them lies
    inside a single x and a single y."""
    found = set()
    for x_lo, x_hi in xs:
        for y_lo, y_hi in ys:
            lo, hi = max(x_lo, y_lo), min(x_hi, y_hi)
            if lo < hi:
                found.add((lo, hi))
    return sorted(found)


def overlap(a: Participant, b: Participant, span: Interval) -> list[Interval]:
    return intersect(availability(a, span), availability(b, span))


def fits(intervals: Sequence[Interval], start: datetime, length: timedelta) -> bool:
    return any(lo <= start and start + length <= hi for lo, hi in intervals)


def margin(interval: Interval, start: datetime, length: timedelta) -> timedelta:
    """Distance from the session to the nearer edge of the shared window."""
    return min(start - interval[0], interval[1] - (start + length))


def _grid_floor(instant: datetime) -> datetime:
    return instant - (instant - _EPOCH) % GRID


def grid_ceil(instant: datetime) -> datetime:
    return instant + (-(instant - _EPOCH)) % GRID


def _whole_minute(lo: datetime, hi: datetime) -> datetime:
    up = lo + (-(lo - _EPOCH)) % timedelta(minutes=1)
    return up if up <= hi else lo


def best_slot(intervals: Sequence[Interval], length: timedelta, not_before: datetime | None = None) -> datetime | None:
    """The start furthest from the edges of its shared window, on a quarter-hour grid when it
    can be; ties go to the earliest."""
    best: tuple[timedelta, datetime] | None = None
    for interval in intervals:
        lo = max(interval[0], not_before) if not_before else interval[0]
        hi = interval[1] - length
        if lo > hi:
            continue
        centre = min(max(interval[0] + (interval[1] - interval[0] - length) / 2, lo), hi)
        below = _grid_floor(centre)
        candidates = [t for t in (below, below + GRID) if lo <= t <= hi] or [_whole_minute(lo, hi)]
        for start in candidates:
            score = margin(interval, start, length)
            if best is None or score > best[0]:
                best = (score, start)
    return best[1] if best else None
