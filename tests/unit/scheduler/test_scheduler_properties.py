"""Property-style checks over many random pairs, all cadences, across 2026-2027 DST changes.

Everything is re-checked with an independent wall-clock test (scheduler_testkit.inside: one
window of each person on the session's local date). Weeks run Monday to Monday UTC.
"""

import itertools
import random
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from scheduler_testkit import any_slot, inside, plan, random_pair, utc, week_of

from services.scheduler.domain import Scheduled, Unschedulable, plan_series, session_count

ZONES = ["America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Sydney", "Australia/Adelaide",
         "Europe/Berlin", "America/Los_Angeles", "Asia/Kathmandu", "UTC", "Pacific/Auckland"]
PAIRS = 60


def cases():
    rng = random.Random(20262027)
    for i in range(PAIRS):
        a, b = random_pair(rng, ZONES)
        starts_on = utc(2026, 1, 1) + timedelta(days=rng.randrange(0, 700))
        minutes = rng.choice([30, 45, 60, 90])
        weeks = rng.randint(1, 30)
        for cadence in ("weekly", "biweekly", "monthly"):
            yield pytest.param(a, b, plan(cadence, weeks, minutes, starts_on), id=f"pair{i}-{cadence}")


@pytest.mark.parametrize("a, b, p", list(cases()))
def test_series_properties(a, b, p):
    now = p.starts_on - timedelta(days=3)
    result = plan_series("m", a, b, p, now=now, a_teaches_b=[], b_teaches_a=[])
    length = timedelta(minutes=p.session_minutes)
    step = {"weekly": 1, "biweekly": 2, "monthly": 4}[p.cadence]
    first = p.starts_on.date() + timedelta(days=(7 - p.starts_on.weekday()) % 7)
    mondays = [first + timedelta(weeks=step * i) for i in range(session_count(p.cadence, p.duration_weeks))]

    if isinstance(result, Unschedulable):
        assert result.reason and result.suggestion.startswith("If ")
        assert not any(any_slot(a, b, week_of(m), length, p.starts_on) for m in mondays)
        return

    assert isinstance(result, Scheduled)
    sessions = result.sessions
    assert len(sessions) == len(mondays)
    assert [s.number for s in sessions] == list(range(1, len(mondays) + 1))
    assert sessions[0].kind == "kickoff" and sessions[0].teacher is None
    for s in sessions[1:]:
        expected = ("p-a", "p-b") if s.number % 2 == 0 else ("p-b", "p-a")
        assert (s.kind, s.teacher, s.learner) == ("teaching", *expected)
    assert all(x.starts_at < y.starts_at for x, y in itertools.pairwise(sessions))
    for s, monday in zip(sessions, mondays, strict=True):
        span = week_of(monday)
        assert span[0] <= s.starts_at < span[1] and s.starts_at >= p.starts_on
        assert s.ends_at - s.starts_at == length
        if s.flagged:
            assert not any_slot(a, b, span, length, p.starts_on), s
        else:
            assert inside(a, s.starts_at, s.ends_at), (s.number, s.local_times[0].starts_at, a.availability)
            assert inside(b, s.starts_at, s.ends_at), (s.number, s.local_times[1].starts_at, b.availability)
        assert [lt.starts_at for lt in s.local_times] == [
            s.starts_at.astimezone(ZoneInfo(x.timezone)).isoformat() for x in (a, b)]
    assert any(not s.flagged for s in sessions)


def test_the_random_cases_exercise_every_outcome():
    outcomes = {"scheduled": 0, "unschedulable": 0, "flagged": 0, "moved": 0}
    for param in cases():
        a, b, p = param.values
        result = plan_series("m", a, b, p, now=p.starts_on)
        if isinstance(result, Unschedulable):
            outcomes["unschedulable"] += 1
            continue
        outcomes["scheduled"] += 1
        outcomes["flagged"] += any(s.flagged for s in result.sessions)
        keys = {(s.starts_at.astimezone(ZoneInfo(a.timezone)).strftime("%a %H:%M")) for s in result.sessions}
        outcomes["moved"] += len(keys) > 1
    assert all(count > 0 for count in outcomes.values()), outcomes
