"""Independent checks for scheduler tests: they re-derive local times with zoneinfo directly
instead of trusting the code under test."""

import random
from datetime import UTC, date, datetime, time, timedelta
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


QUARTER = timedelta(minutes=15)


def week_of(monday: date) -> tuple[datetime, datetime]:
    """A series week: Monday to Monday, UTC."""
    start = datetime.combine(monday, time(), UTC)
    return start, start + timedelta(days=7)


def any_slot(a, b, span, length, not_before) -> bool:
    """Brute force on the quarter-hour grid (every window edge and zone offset lies on it)."""
    t = span[0] + (-(span[0] - utc(2000, 1, 3))) % QUARTER
    while t + length <= span[1]:
        if t >= not_before and local_inside(a, t) and local_inside(b, t) and inside(a, t, t + length) \
                and inside(b, t, t + length):
            return True
        t += QUARTER
    return False


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
