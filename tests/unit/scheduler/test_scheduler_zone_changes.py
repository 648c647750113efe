"""Rescheduling when someone moves to another time zone: no session ahead is lost, and every
session stays in its week (weeks are Monday to Monday UTC, whoever's zone changes)."""

import random
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from scheduler_testkit import any_slot, echo, inside, person, plan, random_pair, random_window, utc, week_of

from services.scheduler.domain import Scheduled, plan_series, reschedule, reschedule_result

FIVE = ["America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Sydney", "Australia/Adelaide"]
# Mondays just before the 2026/2027 DST changes of these zones (US, EU, Australia).
DST_MONDAYS = [date(2026, 3, 2), date(2026, 3, 23), date(2026, 3, 30), date(2026, 9, 28), date(2026, 10, 19),
               date(2026, 10, 26), date(2027, 3, 8), date(2027, 3, 22), date(2027, 3, 29), date(2027, 9, 27),
               date(2027, 10, 25), date(2027, 11, 1)]


def monday(instant: datetime) -> date:
    day = instant.date()
    return day - timedelta(days=day.weekday())


def test_moving_to_sydney_mid_series_keeps_every_session():
    """Ana's Sunday 21:00 London session is Monday 08:00 in Sydney: in Sydney's calendar it moves
    into the next week. It must still be there, in its week, under its id."""
    ana = person("a", "Ana", "Europe/London", ("sun", "20:00", "23:00"))
    ben = person("b", "Ben", "Europe/London", ("sun", "20:00", "23:00"))
    weekly = plan("weekly", weeks=6, starts_on=utc(2027, 1, 4))
    sessions = plan_series("m", ana, ben, weekly, now=utc(2027, 1, 1)).sessions
    ana_in_sydney = replace(ana, timezone="Australia/Sydney", availability=(("mon", "07:00", "10:00"),))
    now = utc(2027, 1, 24, 20)  # an hour before session 3, which still fits both
    moved = reschedule(sessions, ana_in_sydney, ben, weekly, now=now)
    assert [s.session_id for s in moved] == [s.session_id for s in sessions]
    assert [s.starts_at for s in moved] == [s.starts_at for s in sessions]
    assert all(s.flagged is None for s in moved)
    assert [lt.starts_at for lt in moved[2].local_times] == ["2027-01-25T08:00:00+11:00", "2027-01-24T21:00:00+00:00"]


def test_unchanged_inputs_with_flagged_weeks_ahead_change_nothing():
    # From April Adelaide and London drift 1 h apart and this pair has no 45 minutes left.
    ana = person("a", "Ana", "Europe/London", ("sun", "11:00", "12:00"), ("wed", "09:45", "11:00"),
                 ("mon", "15:00", "18:15"))
    ben = person("b", "Ben", "Australia/Adelaide", ("mon", "21:15", "23:45"), ("tue", "02:45", "05:45"))
    weekly = plan("weekly", weeks=18, minutes_=45, starts_on=utc(2026, 3, 2))
    sessions = plan_series("m", ana, ben, weekly, now=utc(2026, 2, 25)).sessions
    now = sessions[9].starts_at - timedelta(hours=1)
    assert all(s.flagged for s in sessions[9:])
    result = reschedule_result(sessions, ana, ben, weekly, now=now)
    assert result.sessions == sessions
    assert result.lost is not None  # reported only if something changed; see the handler


def zone_change_cases():
    rng = random.Random(4)
    for i in range(200):
        a, b = random_pair(rng, FIVE)
        starts_on = datetime.combine(rng.choice(DST_MONDAYS), time(), ZoneInfo("UTC"))
        p = plan(rng.choice(["weekly", "biweekly", "monthly"]), rng.randint(4, 26), rng.choice([30, 45, 60, 90]),
                 starts_on)
        mover_is_a = rng.random() < 0.5
        mover, other = (a, b) if mover_is_a else (b, a)
        new_zone = rng.choice([z for z in FIVE if z != mover.timezone])
        windows = [random_window(rng) for _ in range(rng.randint(0, 2))]
        if other.availability:
            windows.append(echo(rng, rng.choice(other.availability), other.timezone, new_zone))
        moved = replace(mover, timezone=new_zone, availability=tuple(windows))
        a2, b2 = (moved, b) if mover_is_a else (a, moved)
        yield pytest.param(a, b, a2, b2, p, (rng.random(), rng.randint(1, 60)), id=f"case{i}")


@pytest.mark.parametrize("a, b, a2, b2, p, when", list(zone_change_cases()))
def test_a_zone_change_loses_no_session_and_each_keeps_its_week(a, b, a2, b2, p, when):
    first = plan_series("m", a, b, p, now=p.starts_on - timedelta(days=3))
    if not isinstance(first, Scheduled):
        return
    sessions = first.sessions
    # Shortly before one of the sessions: the moment a week boundary in the new zone bites.
    now = sessions[int(when[0] * len(sessions))].starts_at - timedelta(hours=when[1])
    result = reschedule_result(sessions, a2, b2, p, now=now)
    after = result.sessions
    assert [s.session_id for s in after] == [s.session_id for s in sessions]
    length = timedelta(minutes=p.session_minutes)
    for old, new in zip(sessions, after, strict=True):
        if old.starts_at <= now:
            assert new == old
            continue
        assert new.starts_at > now and monday(new.starts_at) == monday(old.starts_at)
        assert (new.kind, new.teacher, new.learner, new.number) == (old.kind, old.teacher, old.learner, old.number)
        assert [lt.timezone for lt in new.local_times] == [a2.timezone, b2.timezone]
        if new.flagged:
            assert not any_slot(a2, b2, week_of(monday(new.starts_at)), length, now + timedelta(seconds=1))
        else:
            assert inside(a2, new.starts_at, new.ends_at) and inside(b2, new.starts_at, new.ends_at)
    if result.lost:
        assert all(s.flagged for s in after if s.starts_at > now)
