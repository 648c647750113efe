"""The one availability rule of the platform: the matcher and the scheduler both ask it.

**Union.** A person's availability is the union of their weekly windows, each laid onto every real
calendar date in the person's own IANA zone and read as UTC instants. Windows that touch or
overlap are one stretch of time: Tue 09:00-10:00 and Tue 10:00-11:00 is Tue 09:00-11:00, and
Mon 23:00-24:00 with Tue 00:00-01:00 runs on across midnight. A session of L minutes fits at t
iff [t, t + L) lies inside the intersection of both people's unions.

**Daylight saving time.** A window means its wall-clock times on that date. Each end is resolved
to an instant as zoneinfo resolves fold=0: a time the clock shows twice (fall back) is its first
pass; a time the clock skips (spring forward) is read with the offset in force before the jump,
so New York's 02:30 on its spring-forward night is 07:30 UTC (03:30 EDT). So on a switch night a
window can be an hour shorter or longer than usual: New York 01:00-03:00 lasts 1 h in March and
01:00-02:00 lasts 2 h in November (00:30-01:30 then holds only the first pass of 01:00-01:30),
and a window whose end resolves no later than its start (02:00-03:00 in March) is empty that day.

**Weeks.** A pair is judged over the weeks a series planned now would occupy (`series_start`):
Monday 00:00 UTC to the next Monday, from the first Monday on or after both the program's start
and now, for the program's duration. A session belongs to the week it starts in and may run on
into the next one. The matcher asks "does every such week have a session start?"
(`overlap_of`, and the bitmaps built from `intervals`); the scheduler places each session at one of
those starts, so every pair the matcher finds eligible can be scheduled in full.

Pure: no I/O (the clock is read only by `program_start` when it is given no time at all).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TypeVar, get_args
from zoneinfo import ZoneInfo

from shared.contract.events import Weekday
from shared.contract.timefmt import DAY_MINUTES, minutes_of, zone_of

WEEKDAYS: tuple[str, ...] = get_args(Weekday)
WEEK = 7 * DAY_MINUTES  # minutes

Window = tuple[str, str, str]  # (weekday 'mon'..'sun', 'HH:MM', 'HH:MM') in the person's own zone
Windows = tuple[Window, ...]
Interval = tuple[datetime, datetime]  # [start, end) in UTC
Intervals = tuple[tuple[int, int], ...]  # [start, end) in minutes since a timeline's origin

_DAY = timedelta(days=1)
T = TypeVar("T", int, datetime)  # instants, or minutes of a day


# --- the rule: windows on real dates, their union, the intersection, a fit ---------------------


def local_instant(zone: ZoneInfo, day: date, minute: int) -> datetime:
    """The UTC instant at which the wall clock in `zone` shows `minute` minutes after midnight of
    `day` (1440 is the next midnight), resolved as zoneinfo's fold=0."""
    # aware + timedelta is wall-clock arithmetic: the offset is the zone's offset at that local time
    return (datetime.combine(day, time(), tzinfo=zone) + timedelta(minutes=minute)).astimezone(UTC)


def window_on(zone: ZoneInfo, day: date, start: str, end: str) -> Interval | None:
    """One window's instants on one local date; None when it is empty there (or malformed)."""
    try:
        lo, hi = local_instant(zone, day, minutes_of(start)), local_instant(zone, day, minutes_of(end))
    except ValueError:
        return None
    return (lo, hi) if lo < hi else None


@lru_cache(maxsize=65536)
def union(timezone: str, windows: Windows, span: Interval) -> tuple[Interval, ...]:
    """The person's availability inside `span`: every window on every local date that reaches it,
    clipped to `span`, sorted, with pieces that touch or overlap joined. Empty for an unknown zone;
    malformed windows are skipped (the contract rejects them before they get here)."""
    zone = zone_of(timezone)
    if zone is None:
        return ()
    by_day = _by_weekday(windows)
    lo, hi = span
    day, last = lo.astimezone(zone).date() - _DAY, hi.astimezone(zone).date() + _DAY
    pieces = []
    while day <= last:
        for begin, end in by_day.get(day.weekday(), ()):
            s, t = max(local_instant(zone, day, begin), lo), min(local_instant(zone, day, end), hi)
            if s < t:
                pieces.append((s, t))
        day += _DAY
    return tuple(merged(pieces))


def _by_weekday(windows: Windows) -> dict[int, list[tuple[int, int]]]:
    by_day: dict[int, list[tuple[int, int]]] = {}
    for weekday, start, end in windows:
        try:
            begin, finish = minutes_of(start), minutes_of(end)
        except ValueError:
            continue
        if weekday in WEEKDAYS and begin < finish:
            by_day.setdefault(WEEKDAYS.index(weekday), []).append((begin, finish))
    return by_day


def merged(pieces: Iterable[tuple[T, T]]) -> list[tuple[T, T]]:
    """Sorted, with pieces that touch or overlap joined into one."""
    out: list[tuple[T, T]] = []
    for s, t in sorted(pieces):
        if out and s <= out[-1][1]:
            if t > out[-1][1]:
                out[-1] = (out[-1][0], t)
        else:
            out.append((s, t))
    return out


def intersection(xs: Sequence[tuple[T, T]], ys: Sequence[tuple[T, T]]) -> list[tuple[T, T]]:
    """Where both sorted, joined interval lists are available; the pieces are again joined."""
    out: list[tuple[T, T]] = []
    i = j = 0
    while i < len(xs) and j < len(ys):
        s, t = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if s < t:
            out.append((s, t))
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return out


def shared(tz_a: str, windows_a: Windows, tz_b: str, windows_b: Windows, span: Interval) -> tuple[Interval, ...]:
    """Both people's availability inside `span`."""
    return tuple(intersection(union(tz_a, windows_a, span), union(tz_b, windows_b, span)))


def fits(intervals: Iterable[Interval], start: datetime, length: timedelta) -> bool:
    """[start, start + length) lies inside one of the joined intervals."""
    return any(lo <= start and start + length <= hi for lo, hi in intervals)


def free(timezone: str, windows: Windows, start: datetime, length: timedelta) -> bool:
    """The person is available for the whole of [start, start + length)."""
    return fits(union(timezone, windows, (start, start + length)), start, length)


# --- the weeks both services judge ------------------------------------------------------------


def series_start(starts_on: datetime | None, now: datetime | None) -> datetime:
    """Monday 00:00 UTC of a series' first week when it is planned at `now`: the first Monday on or
    after both `now` and the program's start (a Monday midnight is its own week). Naive values are
    UTC, as MongoDB returns them."""
    moments = [_aware(m) for m in (starts_on, now) if m is not None]
    if not moments:
        raise ValueError("series_start needs a program start or a time")
    start = max(moments)
    day = start.date() + (_DAY if start.time() != time() else timedelta(0))
    return datetime.combine(day + timedelta(days=-day.weekday() % 7), time(), UTC)


def program_start(starts_on: datetime | None, now: datetime | None = None) -> datetime:
    """Where the matcher's weeks begin: `series_start` at `now`, so that it judges exactly the
    weeks the scheduler would give a pair accepted now. Without `now`: the program's own first
    week, or the clock's when the program has no start either."""
    if now is None and starts_on is None:
        now = datetime.now(UTC)
    return series_start(starts_on, now)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- the matcher's view: minutes on the program timeline, judged week by week ---------------------


@dataclass(frozen=True)
class Overlap:
    slot_minutes: int  # worst week's longest contiguous shared slot starting in that week
    weekly_minutes: int  # worst week's total shared minutes


NO_OVERLAP = Overlap(0, 0)


@lru_cache(maxsize=65536)
def intervals(timezone: str, windows: Windows, start: datetime, weeks: int) -> Intervals:
    """`union` over `weeks` weeks from `start`, as [start, end) minutes since `start`."""
    span = (start, start + timedelta(minutes=weeks * WEEK))
    return tuple((_minutes(lo - start), _minutes(hi - start)) for lo, hi in union(timezone, windows, span))


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def overlap_of(a: Intervals, b: Intervals, weeks: int) -> Overlap:
    """Worst-week longest slot and worst-week total of the intersection of two interval lists.
    A slot counts for the week it starts in (the part of a slot that began earlier counts from the
    week's start); `slot_minutes >= L` says every week has a start for an L-minute session."""
    longest = [0] * weeks
    total = [0] * weeks
    for s, t in intersection(a, b):
        for week in range(s // WEEK, min((t - 1) // WEEK, weeks - 1) + 1):
            week_start = week * WEEK
            longest[week] = max(longest[week], t - max(s, week_start))
            total[week] += min(t, week_start + WEEK) - max(s, week_start)
    return Overlap(min(longest), min(total)) if weeks else NO_OVERLAP


def overlap(tz_a: str, windows_a: Windows, tz_b: str, windows_b: Windows, start: datetime, weeks: int) -> Overlap:
    return _overlap(tz_a, windows_a, tz_b, windows_b, start, weeks)


@lru_cache(maxsize=262144)
def _overlap(tz_a: str, windows_a: Windows, tz_b: str, windows_b: Windows, start: datetime, weeks: int) -> Overlap:
    return overlap_of(intervals(tz_a, windows_a, start, weeks), intervals(tz_b, windows_b, start, weeks), weeks)
