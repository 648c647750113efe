"""Slot choice on top of the platform's one availability rule (`shared.availability`).

Whether a session fits is never decided here: availability is each person's joined windows on
real dates, and a session fits where both people's availability holds all of it. This module only
says which of the fitting starts the scheduler prefers: the one furthest from the edges of its
shared slot, on a quarter-hour grid when it can be.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from services.scheduler.domain.model import Participant
from shared.availability import Interval, shared, union

GRID = timedelta(minutes=15)
REACH = timedelta(days=1)  # longer than any session: a session starting in a week ends within this of it
_TICK = timedelta(microseconds=1)
_EPOCH = datetime(2000, 1, 3, tzinfo=UTC)


def availability(person: Participant, span: Interval) -> list[Interval]:
    """The person's availability inside span, joined across touching and overlapping windows."""
    return list(union(person.timezone, person.availability, span))


def overlap(a: Participant, b: Participant, span: Interval) -> list[Interval]:
    """Where both are available inside span."""
    return list(shared(a.timezone, a.availability, b.timezone, b.availability, span))


def week_overlap(a: Participant, b: Participant, week: Interval) -> list[Interval]:
    """The shared slots a session starting in `week` can use: whole slots, reaching past the week's
    edges, so that one crossing Monday 00:00 UTC is judged by its real middle and length."""
    return overlap(a, b, (week[0] - REACH, week[1] + REACH))


def margin(interval: Interval, start: datetime, length: timedelta) -> timedelta:
    """Distance from the session to the nearer edge of the shared slot."""
    return min(start - interval[0], interval[1] - (start + length))


def _grid_floor(instant: datetime) -> datetime:
    return instant - (instant - _EPOCH) % GRID


def grid_ceil(instant: datetime) -> datetime:
    return instant + (-(instant - _EPOCH)) % GRID


def _whole_minute(lo: datetime, hi: datetime) -> datetime:
    up = lo + (-(lo - _EPOCH)) % timedelta(minutes=1)
    return up if up <= hi else lo


def best_slot(intervals: Sequence[Interval], length: timedelta, not_before: datetime | None = None,
              before: datetime | None = None) -> datetime | None:
    """The start in [not_before, before) furthest from the edges of its shared slot, on a
    quarter-hour grid when it can be; ties go to the earliest."""
    best: tuple[timedelta, datetime] | None = None
    for interval in intervals:
        lo = max(interval[0], not_before) if not_before else interval[0]
        hi = interval[1] - length
        if before is not None:
            hi = min(hi, before - _TICK)
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
