"""The smallest change to one person's weekly availability that gives the pair a shared slot.

Candidates are looked for in one week of every daylight-saving regime the programme's weeks go
through (the pair of UTC offsets in force), and each candidate is checked against all of them,
so a suggestion that only helps until the clocks change ranks below one that always helps.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.scheduler.domain.model import Participant, WindowTuple
from services.scheduler.domain.slots import GRID, availability, best_slot, grid_ceil, week_overlap
from shared.availability import WEEKDAYS, Interval, window_on

_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Change:
    person: Participant
    other: Participant
    window: WindowTuple  # the person's new or stretched window, in their own zone
    old: WindowTuple | None  # the window it stretches; None for an added window
    cost: timedelta  # how much more time the person offers each week
    distance: timedelta = timedelta(0)  # an added window's gap to the person's nearest window


@dataclass(frozen=True)
class Ranked:
    change: Change
    weeks: int  # session weeks in which it gives a shared slot
    total: int


def best_change(a: Participant, b: Participant, length: timedelta, spans: Sequence[Interval]) -> Ranked | None:
    """Stretching a window beats adding one when both help in as many weeks; then the smaller change."""
    regimes = _regimes(a, b, spans)
    seen, ranked = set(), []
    for span, _ in regimes:
        wide = (span[0] - _DAY, span[1] + _DAY)
        for person, other in ((a, b), (b, a)):
            theirs = availability(other, wide)
            options = _stretches(person, other, theirs, length, wide) + _additions(person, other, theirs, length, wide)
            for change in options:
                key = (change.person.person_id, change.window)
                if key in seen:
                    continue
                seen.add(key)
                weeks = sum(weight for span_, weight in regimes if _helps(change, length, span_))
                if weeks:
                    ranked.append(Ranked(change, weeks, len(spans)))
    return min(ranked, default=None,  # the first found among equals
               key=lambda r: (-r.weeks, r.change.old is None, r.change.cost, r.change.distance))


def _regimes(a: Participant, b: Participant, spans: Sequence[Interval]) -> list[tuple[Interval, int]]:
    """One representative week per combination of UTC offsets, with how many weeks share it."""
    groups: dict[tuple[timedelta | None, ...], list[Interval]] = {}
    for span in spans:
        key = tuple(t.astimezone(p.zone).utcoffset() for p in (a, b) for t in (span[0], span[1] - _SECOND))
        groups.setdefault(key, []).append(span)
    return [(members[0], len(members)) for members in groups.values()]


def _helps(change: Change, length: timedelta, span: Interval) -> bool:
    """With the change made, a session can start in the week `span`."""
    kept = tuple(w for w in change.person.availability if w != change.old)
    changed = replace(change.person, availability=(*kept, change.window))
    return best_slot(week_overlap(changed, change.other, span), length, span[0], span[1]) is not None


def _stretches(person: Participant, other: Participant, theirs: list[Interval], length: timedelta,
               span: Interval) -> list[Change]:
    """Every way for `person` to stretch one window, start earlier or stay later, to meet `other`."""
    tz = person.zone
    found = []
    day = span[0].astimezone(tz).date()
    while day <= span[1].astimezone(tz).date():
        for window in person.availability:
            weekday, start, end = window
            mine = window_on(tz, day, start, end) if weekday == WEEKDAYS[day.weekday()] else None
            if mine is None:
                continue
            for lo, hi in theirs:
                base = max(mine[0], lo)
                if hi - base >= length and base + length > mine[1]:
                    new_end = _clock(base + length, tz, day)
                    if new_end:
                        found.append(Change(person, other, (weekday, start, new_end), window, base + length - mine[1]))
                top = min(mine[1], hi)
                if top - lo >= length and top - length < mine[0]:
                    new_start = _clock(top - length, tz, day, end=False)
                    if new_start:
                        found.append(Change(person, other, (weekday, new_start, end), window, mine[0] - (top - length)))
        day += _DAY
    return found


def _additions(person: Participant, other: Participant, theirs: list[Interval], length: timedelta,
               span: Interval) -> list[Change]:
    """For each of `other`'s windows: a session-long window `person` could add, on one local day,
    inside it. Three per window: nearest to one of the person's windows, the earliest, the middle."""
    tz = person.zone
    mine = availability(person, span)
    found = []
    for lo, hi in theirs:
        starts = []
        t = lo
        while t + length <= hi:
            if _clock(t, tz, t.astimezone(tz).date(), end=False) and _clock(t + length, tz, t.astimezone(tz).date()):
                starts.append(t)
            t = grid_ceil(t + _SECOND) if t == lo else t + GRID
        if not starts:
            continue
        gap = {t: min((max(w_lo - (t + length), t - w_hi, timedelta(0)) for w_lo, w_hi in mine), default=timedelta(0))
               for t in starts}
        picks = [min(starts, key=lambda t: gap[t]), starts[0], starts[len(starts) // 2]]
        for t in dict.fromkeys(picks):
            local = t.astimezone(tz)
            end = _clock(t + length, tz, local.date())
            if end is None:  # never: `starts` only holds times whose end is on the clock
                continue
            window = (WEEKDAYS[local.weekday()], local.strftime("%H:%M"), end)
            found.append(Change(person, other, window, None, length, gap[t]))
    return found


def _clock(instant: datetime, tz: ZoneInfo, day: date, *, end: bool = True) -> str | None:
    """`instant` as 'HH:MM' on `day` in tz ('24:00' for the next midnight when it ends a window);
    None when it falls on another day or off the minute."""
    local = instant.astimezone(tz)
    if local.second or local.microsecond:
        return None
    if local.date() == day:
        return local.strftime("%H:%M")
    if end and local.date() == day + _DAY and local.time() == time():
        return "24:00"
    return None
