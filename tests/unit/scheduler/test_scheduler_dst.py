"""Real zoneinfo data across the 2026 and 2027 daylight saving transitions.

2026: US Mar 8 / Nov 1, EU Mar 29 / Oct 25, Australia Apr 5 / Oct 4.
2027: US Mar 14 / Nov 7, EU Mar 28 / Oct 31, Australia Apr 4 / Oct 3.
"""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from scheduler_testkit import inside, person, plan, utc

from services.scheduler.domain import Scheduled, plan_series

LONDON, NY = ZoneInfo("Europe/London"), ZoneInfo("America/New_York")

# London (A, whose calendar defines the weeks) and New York. Tuesday is roomier but only
# works while both clocks agree; Thursday 16:00-17:00 London always works but is tight.
ALEX = person("p-alex", "Alex", "Europe/London", ("tue", "14:00", "15:30"), ("thu", "16:00", "17:00"))
NINA = person("p-nina", "Nina", "America/New_York", ("tue", "09:00", "10:30"), ("thu", "10:00", "13:00"))


def series(a, b, p, now):
    result = plan_series("m", a, b, p, now=now, a_teaches_b=[], b_teaches_a=[])
    assert isinstance(result, Scheduled), result
    return result.sessions


def local(session, tz):
    return session.starts_at.astimezone(tz)


def assert_all_inside(sessions, a, b):
    for s in sessions:
        assert s.flagged is None, s
        assert inside(a, s.starts_at, s.ends_at), (s.number, local(s, ZoneInfo(a.timezone)))
        assert inside(b, s.starts_at, s.ends_at), (s.number, local(s, ZoneInfo(b.timezone)))


@pytest.mark.parametrize("start, gap_tuesdays", [
    (utc(2026, 2, 23), {date(2026, 3, 10), date(2026, 3, 17), date(2026, 3, 24)}),
    (utc(2026, 10, 5), {date(2026, 10, 27)}),
    (utc(2027, 3, 1), {date(2027, 3, 16), date(2027, 3, 23)}),
    (utc(2027, 10, 18), {date(2027, 11, 2)}),
])
def test_new_york_london_gap_weeks_move_to_another_shared_slot(start, gap_tuesdays):
    sessions = series(ALEX, NINA, plan("weekly", weeks=8, starts_on=start), now=utc(2026, 1, 1))
    assert len(sessions) == 8
    assert_all_inside(sessions, ALEX, NINA)
    for s in sessions:
        day = local(s, LONDON).date()
        tuesday = day - timedelta(days=day.weekday() - 1)
        if tuesday in gap_tuesdays:
            assert day == tuesday + timedelta(days=2), s.number  # moved to Thursday of the same week
            assert local(s, LONDON).strftime("%H:%M") == "16:00"
        else:
            assert day == tuesday and local(s, LONDON).strftime("%H:%M") == "14:15"  # the usual slot
            assert local(s, NY).strftime("%H:%M") == "09:15"


def test_without_another_slot_the_gap_week_is_flagged_but_kept():
    alex = person("p-alex", "Alex", "Europe/London", ("tue", "14:00", "15:30"))
    nina = person("p-nina", "Nina", "America/New_York", ("tue", "09:00", "10:30"))
    sessions = series(alex, nina, plan("weekly", weeks=6, starts_on=utc(2027, 3, 1)), now=utc(2027, 1, 1))
    assert len(sessions) == 6 and [s.number for s in sessions] == list(range(1, 7))
    flagged = [s for s in sessions if s.flagged]
    assert [local(s, LONDON).date() for s in flagged] == [date(2027, 3, 16), date(2027, 3, 23)]
    for s in flagged:
        assert "week of 2027-03-1" in s.flagged or "week of 2027-03-2" in s.flagged
        # The usual slot is kept in Alex's (A's) clock; New York is an hour ahead of normal.
        assert s.flagged.split("outside")[-1] == " Nina's window."
        assert local(s, LONDON).strftime("%a %H:%M") == "Tue 14:15"
        assert local(s, NY).strftime("%a %H:%M") == "Tue 10:15"
        assert not (inside(alex, s.starts_at, s.ends_at) and inside(nina, s.starts_at, s.ends_at))
    assert_all_inside([s for s in sessions if not s.flagged], alex, nina)


def test_same_day_shift_when_the_overlap_shrinks():
    # Tuesday overlap is 14:00-16:00 London normally, 14:00-15:00 during the gap.
    alex = person("p-alex", "Alex", "Europe/London", ("tue", "14:00", "16:00"), ("thu", "13:00", "14:15"))
    nina = person("p-nina", "Nina", "America/New_York", ("tue", "09:00", "11:00"), ("thu", "08:00", "10:00"))
    sessions = series(alex, nina, plan("weekly", weeks=5, starts_on=utc(2027, 3, 8)), now=utc(2027, 1, 1))
    assert_all_inside(sessions, alex, nina)
    assert [local(s, LONDON).strftime("%m-%d %H:%M") for s in sessions] == [
        "03-09 14:30", "03-16 14:00", "03-23 14:00", "03-30 14:30", "04-06 14:30"]


def test_sydney_and_london_through_three_different_offsets():
    # Sydney Tue 07:00-09:00 is London's Monday evening. The gap between them is 11 h in
    # January, 10 h from 2027-03-28 (London on BST), 9 h from 2027-04-04 (Sydney on AEST).
    sydney = person("p-syd", "Mia", "Australia/Sydney", ("tue", "07:00", "09:00"))
    london = person("p-lon", "Leo", "Europe/London", ("mon", "20:00", "23:00"))
    sessions = series(sydney, london, plan("weekly", weeks=16, starts_on=utc(2027, 2, 15)), now=utc(2027, 1, 1))
    assert len(sessions) == 16
    assert_all_inside(sessions, sydney, london)
    gaps = {(local(s, ZoneInfo("Australia/Sydney")).utcoffset() - local(s, LONDON).utcoffset()) for s in sessions}
    assert gaps == {timedelta(hours=11), timedelta(hours=10), timedelta(hours=9)}
    assert all(local(s, ZoneInfo("Australia/Sydney")).weekday() == 1 for s in sessions)


def test_sydney_spring_forward_against_europe_autumn_2026():
    sydney = person("p-syd", "Mia", "Australia/Sydney", ("wed", "17:00", "19:00"))
    berlin = person("p-ber", "Bo", "Europe/Berlin", ("wed", "08:00", "10:00"))
    sessions = series(berlin, sydney, plan("weekly", weeks=8, starts_on=utc(2026, 9, 21)), now=utc(2026, 1, 1))
    assert_all_inside([s for s in sessions if not s.flagged], berlin, sydney)
    # 2026-09-23: AEST+10 vs CEST+2 (8 h) -> Sydney 17-19 = Berlin 09-11; overlap 09-10.
    # From 2026-10-04 AEDT+11 (9 h): Sydney 17-19 = Berlin 08-10: full overlap.
    # From 2026-10-25 CET+1 (10 h): Sydney 17-19 = Berlin 07-09; overlap 08-09.
    assert all(s.flagged is None for s in sessions)
    assert {local(s, ZoneInfo("Europe/Berlin")).strftime("%H:%M") for s in sessions} <= {"08:00", "08:30", "09:00"}


def test_kolkata_has_no_dst_and_a_half_hour_offset():
    kolkata = person("p-kol", "Priya", "Asia/Kolkata", ("wed", "18:30", "20:30"))
    london = person("p-lon", "Leo", "Europe/London", ("wed", "13:00", "15:00"))
    sessions = series(kolkata, london, plan("weekly", weeks=10, starts_on=utc(2027, 3, 8)), now=utc(2027, 1, 1))
    assert_all_inside(sessions, kolkata, london)
    # GMT: Kolkata 18:30-20:30 = 13:00-15:00 London; BST: 14:00-16:00 -> overlap shrinks to 14-15.
    times = [local(s, ZoneInfo("Asia/Kolkata")).strftime("%H:%M") for s in sessions]
    assert set(times) <= {"18:30", "19:00", "19:30"}
    assert all(s.local_times[0].starts_at.endswith("+05:30") for s in sessions)


def test_adelaide_half_hour_offset_with_dst_against_new_york():
    adelaide = person("p-adl", "Ada", "Australia/Adelaide", ("tue", "08:00", "10:00"), ("wed", "08:00", "10:00"))
    ny = person("p-ny", "Nat", "America/New_York", ("mon", "17:00", "19:00"), ("tue", "17:00", "19:00"))
    sessions = series(adelaide, ny, plan("weekly", weeks=14, starts_on=utc(2027, 2, 22)), now=utc(2027, 1, 1))
    assert len(sessions) == 14
    assert_all_inside([s for s in sessions if not s.flagged], adelaide, ny)
    offsets = {local(s, ZoneInfo("Australia/Adelaide")).utcoffset() for s in sessions}
    assert offsets == {timedelta(hours=10, minutes=30), timedelta(hours=9, minutes=30)}
    assert all(s.local_times[0].starts_at[-6:] in ("+10:30", "+09:30") for s in sessions)


def test_a_session_at_night_through_the_us_fall_back_night():
    # Both in the same zone, window covering the repeated hour on 2026-11-01 (a Sunday).
    a = person("a", "Ann", "America/New_York", ("sun", "00:30", "02:30"))
    b = person("b", "Bob", "America/Chicago", ("sat", "23:00", "24:00"), ("sun", "00:00", "02:00"))
    sessions = series(a, b, plan("weekly", weeks=3, starts_on=utc(2026, 10, 26)), now=utc(2026, 1, 1))
    assert_all_inside([s for s in sessions if not s.flagged], a, b)
    assert all(s.flagged is None for s in sessions)
