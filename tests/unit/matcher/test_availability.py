from dataclasses import replace
from datetime import UTC, datetime

from services.matcher.domain import ineligibility, pair_overlap, reason_code

# 2027: the US switches to summer time on 14 March, the UK on 28 March.
NY_WINDOW = (("mon", "09:00", "10:00"),)  # 14:00 UTC in winter, 13:00 UTC in US summer
LONDON_WINDOW = (("mon", "14:00", "15:00"),)  # 14:00 UTC in winter, 13:00 UTC in UK summer


def pair(alice, bob):
    return (replace(alice, timezone="America/New_York", availability=NY_WINDOW),
            replace(bob, timezone="Europe/London", availability=LONDON_WINDOW))


def test_pair_that_overlaps_before_dst_changes(alice, bob, program):
    a, b = pair(alice, bob)
    winter = replace(program, starts_on=datetime(2027, 1, 4, tzinfo=UTC), duration_weeks=8)
    assert pair_overlap(a, b, winter).slot_minutes == 60
    assert ineligibility(a, b, winter) == []


def test_the_weeks_between_the_us_and_uk_switch_break_the_pair(alice, bob, program):
    a, b = pair(alice, bob)
    spanning = replace(program, starts_on=datetime(2027, 3, 1, tzinfo=UTC), duration_weeks=12)
    assert pair_overlap(a, b, spanning).slot_minutes == 0
    assert [reason_code(r) for r in ineligibility(a, b, spanning)] == ["insufficient_overlap"]


def test_after_both_switch_the_pair_overlaps_again(alice, bob, program):
    a, b = pair(alice, bob)
    summer = replace(program, starts_on=datetime(2027, 4, 5, tzinfo=UTC), duration_weeks=12)
    assert ineligibility(a, b, summer) == []


def test_program_without_start_uses_now(alice, bob, program):
    a, b = pair(alice, bob)
    unset = replace(program, starts_on=None, duration_weeks=2)
    assert ineligibility(a, b, unset, now=datetime(2027, 3, 15, tzinfo=UTC)) != []
    assert ineligibility(a, b, unset, now=datetime(2027, 6, 7, tzinfo=UTC)) == []


def test_weekly_minutes_is_the_worst_weeks_total(alice, bob, program):
    a = replace(alice, availability=(("mon", "09:00", "11:00"), ("thu", "09:00", "10:00")))
    b = replace(bob, availability=(("mon", "08:00", "10:30"), ("thu", "08:00", "12:00")))
    ov = pair_overlap(a, b, program)
    assert (ov.slot_minutes, ov.weekly_minutes) == (90, 150)


def test_adjacent_windows_merge_into_one_slot(alice, bob, program):
    a = replace(alice, availability=(("mon", "09:00", "09:30"), ("mon", "09:30", "10:00")))
    b = replace(bob, availability=(("mon", "09:00", "10:00"),))
    assert pair_overlap(a, b, program).slot_minutes == 60


def test_midnight_end_and_bad_zone(alice, bob, program):
    a = replace(alice, availability=(("sun", "23:00", "24:00"),))
    b = replace(bob, availability=(("sun", "22:00", "24:00"),))
    assert pair_overlap(a, b, program).slot_minutes == 60
    assert pair_overlap(replace(a, timezone="Mars/Olympus"), b, program).slot_minutes == 0
