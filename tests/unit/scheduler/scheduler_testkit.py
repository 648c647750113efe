"""Independent checks for scheduler tests: they re-derive local times with zoneinfo directly
instead of trusting the code under test (shared.availability)."""

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.scheduler.domain import Participant, SeriesPlan
from shared.contract.timefmt import minutes_of

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _window_instants(tz: ZoneInfo, day: date, window: tuple[str, str, str]) -> tuple[datetime, datetime]:
    """A window's ends on a local date, by wall-clock arithmetic (zoneinfo's fold=0)."""
    midnight = datetime.combine(day, time(), tz)
    return tuple((midnight + timedelta(minutes=minutes_of(hhmm_))).astimezone(UTC) for hhmm_ in window[1:])


def local_inside(person: Participant, instant: datetime) -> list[tuple[str, str, str]]:
    """The person's windows that hold `instant` on some local date (start inclusive, end exclusive)."""
    tz = ZoneInfo(person.timezone)
    today = instant.astimezone(tz).date()
    found = []
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        for w in person.availability:
            if w[0] == WEEKDAYS[day.weekday()]:
                lo, hi = _window_instants(tz, day, w)
                if lo <= instant < hi:
                    found.append(w)
    return found


def inside(person: Participant, start: datetime, end: datetime) -> bool:
    """Every moment of [start, end) is inside some window of the person: touching and overlapping
    windows count as one (the platform's availability rule). Window ends and zone offsets all lie
    on the UTC quarter-hour grid, so checking `start` and every grid point before `end` suffices."""
    t = start
    while t < end:
        if not local_inside(person, t):
            return False
        t = t + QUARTER - (t - utc(2000, 1, 3)) % QUARTER
    return True


def person(pid: str, name: str, tz: str, *windows: tuple[str, str, str], modes=("video",), site="",
           wants=()) -> Participant:
    return Participant(pid, name, tz, site, tuple(modes), tuple(windows), tuple(wants))


def plan(cadence="weekly", weeks=12, minutes_=60, starts_on=None, rules=None) -> SeriesPlan:
    kwargs = {} if rules is None else {"ground_rules": tuple(rules)}
    return SeriesPlan("prog-1", minutes_, cadence, weeks, starts_on, **kwargs)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


QUARTER = timedelta(minutes=15)


def week_of(monday: date) -> tuple[datetime, datetime]:
    """A series week: Monday to Monday, UTC."""
    start = datetime.combine(monday, time(), UTC)
    return start, start + timedelta(days=7)


def any_slot(a, b, span, length, not_before) -> bool:
    """Brute force: a session that starts in span (a series week; it may run on past the week's end)
    at or after not_before, on the quarter-hour grid (every window edge and zone offset lies on it)
    or at not_before itself."""
    first = max(span[0], not_before)
    first += (-(first - utc(2000, 1, 3))) % timedelta(minutes=1)
    t = first + (-(first - utc(2000, 1, 3))) % QUARTER
    return any(inside(a, x, x + length) and inside(b, x, x + length)
               for x in (first, *_grid(t, span[1])) if x < span[1])


def _grid(t, end):
    while t < end:
        yield t
        t += QUARTER


def hhmm(total: int) -> str:
    return f"{total // 60:02d}:{total % 60:02d}"


def random_window(rng: random.Random) -> tuple[str, str, str]:
    start = rng.randrange(0, 24 * 4 - 2) * 15
    length = rng.randrange(2, 33) * 15
    return rng.choice(WEEKDAYS), hhmm(start), hhmm(min(start + length, 24 * 60))


def echo(rng: random.Random, window, tz_from: str, tz_to: str) -> tuple[str, str, str]:
    """Roughly the same moment as `window`, seen from another zone, nudged by up to 3 h."""
    day = date(2027, 1, 4) + timedelta(days=WEEKDAYS.index(window[0]))
    h, m = map(int, window[1].split(":"))
    moment = datetime.combine(day, time(h, m), ZoneInfo(tz_from)) + timedelta(minutes=15 * rng.randrange(-12, 13))
    local = moment.astimezone(ZoneInfo(tz_to))
    start = local.hour * 60 + local.minute
    length = rng.randrange(2, 25) * 15
    return WEEKDAYS[local.weekday()], hhmm(start), hhmm(min(start + length, 24 * 60))


def random_pair(rng: random.Random, zones: list[str]) -> tuple[Participant, Participant]:
    tz_a, tz_b = rng.choice(zones), rng.choice(zones)
    a_windows = [random_window(rng) for _ in range(rng.randint(1, 4))]
    b_windows = [random_window(rng) for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.7:
        b_windows.append(echo(rng, a_windows[0], tz_a, tz_b))
    a = person("p-a", "Ana", tz_a, *a_windows, wants=(("x", "goal a", 2),))
    b = person("p-b", "Ben", tz_b, *b_windows, wants=(("y", "goal b", 2),))
    return a, b
