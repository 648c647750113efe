from datetime import date, timedelta
from zoneinfo import ZoneInfo

from services.scheduler.domain import availability, best_slot, overlap, window_on
from services.scheduler.domain.slots import to_utc

from scheduler_testkit import person, utc

NY, LONDON = ZoneInfo("America/New_York"), ZoneInfo("Europe/London")
HOUR = timedelta(hours=1)


def test_plain_window_is_one_interval():
    assert window_on(LONDON, date(2027, 1, 12), "09:00", "11:30") == [(utc(2027, 1, 12, 9), utc(2027, 1, 12, 11, 30))]
    assert window_on(LONDON, date(2027, 7, 13), "09:00", "11:30") == [(utc(2027, 7, 13, 8), utc(2027, 7, 13, 10, 30))]


def test_half_hour_offset_zone():
    assert window_on(ZoneInfo("Asia/Kolkata"), date(2027, 3, 9), "18:00", "21:00") == [
        (utc(2027, 3, 9, 12, 30), utc(2027, 3, 9, 15, 30))]
    # Adelaide: +10:30 in January (summer), +9:30 in July.
    assert window_on(ZoneInfo("Australia/Adelaide"), date(2027, 1, 12), "09:00", "10:00") == [
        (utc(2027, 1, 11, 22, 30), utc(2027, 1, 11, 23, 30))]
    assert window_on(ZoneInfo("Australia/Adelaide"), date(2027, 7, 13), "09:00", "10:00") == [
        (utc(2027, 7, 12, 23, 30), utc(2027, 7, 13, 0, 30))]


def test_end_of_day_window():
    assert window_on(LONDON, date(2027, 1, 12), "22:00", "24:00") == [(utc(2027, 1, 12, 22), utc(2027, 1, 13))]


def test_spring_forward_window_spans_the_gap():
    # 2026-03-08 New York: 02:00 EST becomes 03:00 EDT (07:00Z). 01:00-03:30 local lasts 1.5 h.
    assert window_on(NY, date(2026, 3, 8), "01:00", "03:30") == [(utc(2026, 3, 8, 6), utc(2026, 3, 8, 7, 30))]


def test_window_ending_inside_the_gap_stops_before_the_jump():
    ((lo, hi),) = window_on(NY, date(2026, 3, 8), "00:00", "02:30")
    assert lo == utc(2026, 3, 8, 5) and utc(2026, 3, 8, 6, 59) < hi < utc(2026, 3, 8, 7)
    assert hi.astimezone(NY).hour == 1


def test_fall_back_window_holds_both_passes_of_the_repeated_hour():
    # 2026-11-01 New York: 02:00 EDT becomes 01:00 EST (06:00Z); 01:00-02:00 happens twice.
    assert window_on(NY, date(2026, 11, 1), "01:00", "02:00") == [(utc(2026, 11, 1, 5), utc(2026, 11, 1, 7))]


def test_fall_back_window_ending_in_the_repeated_hour_splits_in_two():
    pieces = window_on(NY, date(2026, 11, 1), "00:00", "01:30")
    assert len(pieces) == 2
    assert pieces[0] == (utc(2026, 11, 1, 4), utc(2026, 11, 1, 5, 30))
    assert pieces[1] == (utc(2026, 11, 1, 6), utc(2026, 11, 1, 6, 30))
    assert not any(lo < utc(2026, 11, 1, 5, 45) < hi for lo, hi in pieces)  # 01:45 EDT is outside


def test_availability_follows_each_date_and_clips_to_the_span():
    p = person("a", "A", "Europe/London", ("mon", "09:00", "10:00"), ("wed", "09:00", "10:00"))
    span = (utc(2027, 3, 22), utc(2027, 4, 5))  # London springs forward on 2027-03-28
    assert availability(p, span) == [
        (utc(2027, 3, 22, 9), utc(2027, 3, 22, 10)), (utc(2027, 3, 24, 9), utc(2027, 3, 24, 10)),
        (utc(2027, 3, 29, 8), utc(2027, 3, 29, 9)), (utc(2027, 3, 31, 8), utc(2027, 3, 31, 9)),
    ]
    assert availability(p, (utc(2027, 3, 22, 9, 30), utc(2027, 3, 24, 9, 15))) == [
        (utc(2027, 3, 22, 9, 30), utc(2027, 3, 22, 10)), (utc(2027, 3, 24, 9), utc(2027, 3, 24, 9, 15))]


def test_overlap_uses_each_persons_own_zone():
    a = person("a", "A", "Europe/London", ("tue", "14:00", "17:00"))
    b = person("b", "B", "America/New_York", ("tue", "08:00", "11:00"))
    week = (utc(2027, 1, 11), utc(2027, 1, 18))
    assert overlap(a, b, week) == [(utc(2027, 1, 12, 14), utc(2027, 1, 12, 16))]
    gap_week = (utc(2027, 3, 15), utc(2027, 3, 22))  # New York on EDT, London still on GMT
    assert overlap(a, b, gap_week) == [(utc(2027, 3, 16, 14), utc(2027, 3, 16, 15))]


def test_best_slot_prefers_the_middle_on_a_quarter_hour():
    shared = [(utc(2027, 1, 12, 14), utc(2027, 1, 12, 16))]
    assert best_slot(shared, HOUR) == utc(2027, 1, 12, 14, 30)
    odd = [(utc(2027, 1, 12, 14), utc(2027, 1, 12, 15, 40))]
    assert best_slot(odd, HOUR) == utc(2027, 1, 12, 14, 15)  # margin 15 beats 14:30 (margin 10)


def test_best_slot_picks_the_roomiest_window_and_the_earliest_on_ties():
    narrow = (utc(2027, 1, 11, 9), utc(2027, 1, 11, 10, 30))
    wide = (utc(2027, 1, 13, 9), utc(2027, 1, 13, 13))
    twin = (utc(2027, 1, 15, 9), utc(2027, 1, 15, 13))
    assert best_slot([narrow, wide, twin], HOUR) == utc(2027, 1, 13, 10, 30)


def test_best_slot_exact_fit_off_the_grid_and_too_short():
    exact = [(utc(2027, 1, 12, 14, 10), utc(2027, 1, 12, 15, 10))]
    assert best_slot(exact, HOUR) == utc(2027, 1, 12, 14, 10)
    assert best_slot([(utc(2027, 1, 12, 14), utc(2027, 1, 12, 14, 59))], HOUR) is None
    assert best_slot([], HOUR) is None


def test_best_slot_respects_not_before():
    shared = [(utc(2027, 1, 12, 14), utc(2027, 1, 12, 18))]
    assert best_slot(shared, HOUR, utc(2027, 1, 12, 16, 20)) == utc(2027, 1, 12, 16, 30)
    assert best_slot(shared, HOUR, utc(2027, 1, 12, 17, 1)) is None


def test_to_utc_resolves_missing_and_repeated_wall_clock_times():
    from datetime import datetime
    assert to_utc(datetime(2026, 3, 8, 2, 30), NY) == utc(2026, 3, 8, 7)  # doesn't exist: the jump
    assert to_utc(datetime(2026, 11, 1, 1, 30), NY) == utc(2026, 11, 1, 5, 30)  # repeated: the first


def test_windows_that_touch_or_overlap_stay_separate_intervals():
    p = person("a", "A", "Europe/London", ("mon", "09:00", "10:00"), ("mon", "10:00", "11:00"),
               ("mon", "23:00", "24:00"), ("tue", "00:00", "01:00"),
               ("wed", "09:00", "12:00"), ("wed", "11:00", "13:00"))
    assert availability(p, (utc(2027, 1, 4), utc(2027, 1, 11))) == [
        (utc(2027, 1, 4, 9), utc(2027, 1, 4, 10)), (utc(2027, 1, 4, 10), utc(2027, 1, 4, 11)),
        (utc(2027, 1, 4, 23), utc(2027, 1, 5)), (utc(2027, 1, 5), utc(2027, 1, 5, 1)),
        (utc(2027, 1, 6, 9), utc(2027, 1, 6, 12)), (utc(2027, 1, 6, 11), utc(2027, 1, 6, 13)),
    ]


def test_overlap_is_one_interval_per_pair_of_windows():
    a = person("a", "A", "Europe/London", ("mon", "09:00", "12:00"))
    b = person("b", "B", "Europe/London", ("mon", "09:00", "10:30"), ("mon", "10:00", "12:00"))
    assert overlap(a, b, (utc(2027, 1, 4), utc(2027, 1, 11))) == [
        (utc(2027, 1, 4, 9), utc(2027, 1, 4, 10, 30)), (utc(2027, 1, 4, 10), utc(2027, 1, 4, 12))]
