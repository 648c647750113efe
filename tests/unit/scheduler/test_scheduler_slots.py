from datetime import date, timedelta
from zoneinfo import ZoneInfo

from scheduler_testkit import person, utc

from services.scheduler.domain import availability, best_slot, overlap
from shared.availability import local_instant, window_on

NY, LONDON = ZoneInfo("America/New_York"), ZoneInfo("Europe/London")
HOUR = timedelta(hours=1)


def test_plain_window_is_one_interval():
    assert window_on(LONDON, date(2027, 1, 12), "09:00", "11:30") == (utc(2027, 1, 12, 9), utc(2027, 1, 12, 11, 30))
    assert window_on(LONDON, date(2027, 7, 13), "09:00", "11:30") == (utc(2027, 7, 13, 8), utc(2027, 7, 13, 10, 30))


def test_half_hour_offset_zone():
    assert window_on(ZoneInfo("Asia/Kolkata"), date(2027, 3, 9), "18:00", "21:00") == (
        utc(2027, 3, 9, 12, 30), utc(2027, 3, 9, 15, 30))
    # Adelaide: +10:30 in January (summer), +9:30 in July.
    assert window_on(ZoneInfo("Australia/Adelaide"), date(2027, 1, 12), "09:00", "10:00") == (
        utc(2027, 1, 11, 22, 30), utc(2027, 1, 11, 23, 30))
    assert window_on(ZoneInfo("Australia/Adelaide"), date(2027, 7, 13), "09:00", "10:00") == (
        utc(2027, 7, 12, 23, 30), utc(2027, 7, 13, 0, 30))


def test_end_of_day_window():
    assert window_on(LONDON, date(2027, 1, 12), "22:00", "24:00") == (utc(2027, 1, 12, 22), utc(2027, 1, 13))


def test_spring_forward_window_spans_the_gap():
    # 2026-03-08 New York: 02:00 EST becomes 03:00 EDT (07:00Z). 01:00-03:30 local lasts 1.5 h.
    assert window_on(NY, date(2026, 3, 8), "01:00", "03:30") == (utc(2026, 3, 8, 6), utc(2026, 3, 8, 7, 30))


def test_a_time_inside_the_gap_is_read_with_the_offset_before_the_jump():
    # 02:30 does not exist that night; zoneinfo's fold=0 reads it as 02:30 EST, i.e. 03:30 EDT (07:30Z).
    lo, hi = window_on(NY, date(2026, 3, 8), "00:00", "02:30")
    assert (lo, hi) == (utc(2026, 3, 8, 5), utc(2026, 3, 8, 7, 30))
    assert hi.astimezone(NY).strftime("%H:%M") == "03:30"
    assert window_on(NY, date(2026, 3, 8), "02:00", "03:00") is None  # the skipped hour: empty that day


def test_fall_back_window_holds_both_passes_of_the_repeated_hour():
    # 2026-11-01 New York: 02:00 EDT becomes 01:00 EST (06:00Z); 01:00-02:00 happens twice.
    assert window_on(NY, date(2026, 11, 1), "01:00", "02:00") == (utc(2026, 11, 1, 5), utc(2026, 11, 1, 7))


def test_fall_back_window_ending_in_the_repeated_hour_ends_at_its_first_pass():
    # 01:30 happens twice that night; fold=0 takes the first (EDT, 05:30Z): one piece, no second pass.
    assert window_on(NY, date(2026, 11, 1), "00:00", "01:30") == (utc(2026, 11, 1, 4), utc(2026, 11, 1, 5, 30))


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


def test_local_instant_resolves_missing_and_repeated_wall_clock_times_as_fold_0():
    assert local_instant(NY, date(2026, 3, 8), 150) == utc(2026, 3, 8, 7, 30)  # 02:30 doesn't exist: 03:30 EDT
    assert local_instant(NY, date(2026, 11, 1), 90) == utc(2026, 11, 1, 5, 30)  # 01:30 repeats: the first
    assert local_instant(NY, date(2026, 11, 1), 24 * 60) == utc(2026, 11, 2, 5)  # 24:00 is the next midnight


def test_best_slot_keeps_the_start_inside_the_week_but_lets_the_session_run_on():
    crossing = [(utc(2027, 1, 10, 23), utc(2027, 1, 11, 3))]  # Sunday 23:00 to Monday 03:00 UTC
    monday = utc(2027, 1, 11)
    assert best_slot(crossing, HOUR) == utc(2027, 1, 11, 0, 30)
    assert best_slot(crossing, HOUR, before=monday) == utc(2027, 1, 10, 23, 45)
    assert best_slot(crossing, HOUR, not_before=monday) == utc(2027, 1, 11, 0, 30)
    assert best_slot([(utc(2027, 1, 10, 23), utc(2027, 1, 11, 1))], HOUR, utc(2027, 1, 10, 23, 30), monday) == (
        utc(2027, 1, 10, 23, 30))


def test_windows_that_touch_or_overlap_are_one_interval():
    p = person("a", "A", "Europe/London", ("mon", "09:00", "10:00"), ("mon", "10:00", "11:00"),
               ("mon", "23:00", "24:00"), ("tue", "00:00", "01:00"),
               ("wed", "09:00", "12:00"), ("wed", "11:00", "13:00"))
    assert availability(p, (utc(2027, 1, 4), utc(2027, 1, 11))) == [
        (utc(2027, 1, 4, 9), utc(2027, 1, 4, 11)),
        (utc(2027, 1, 4, 23), utc(2027, 1, 5, 1)),  # across midnight
        (utc(2027, 1, 6, 9), utc(2027, 1, 6, 13)),
    ]


def test_overlap_is_one_interval_per_shared_stretch():
    a = person("a", "A", "Europe/London", ("mon", "09:00", "12:00"))
    b = person("b", "B", "Europe/London", ("mon", "09:00", "10:30"), ("mon", "10:00", "12:00"))
    assert overlap(a, b, (utc(2027, 1, 4), utc(2027, 1, 11))) == [(utc(2027, 1, 4, 9), utc(2027, 1, 4, 12))]
