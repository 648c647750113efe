from scheduler_testkit import person, plan, utc

from services.scheduler.domain import Unschedulable, plan_series

NOW = utc(2027, 1, 6)


def result_for(a, b, minutes=60):
    result = plan_series("m", a, b, plan(weeks=6, minutes_=minutes), now=NOW, a_teaches_b=[], b_teaches_a=[])
    assert isinstance(result, Unschedulable), result
    return result


def test_reason_names_both_people_zones_and_length():
    priya = person("p1", "Priya", "Asia/Kolkata", ("wed", "06:00", "08:00"))
    sam = person("p2", "Sam", "America/New_York", ("tue", "18:00", "19:00"))
    result = result_for(priya, sam)
    assert result.reason == ("Priya (Asia/Kolkata) and Sam (America/New_York) have no 60-minute overlap "
                             "in their weekly availability.")


def test_suggestion_start_earlier_with_the_exact_shift():
    # Sam Tue 18:00-19:00 EST = 23:00-00:00Z; Priya Wed 06:00-08:00 IST = 00:30-02:30Z.
    priya = person("p1", "Priya", "Asia/Kolkata", ("wed", "06:00", "08:00"))
    sam = person("p2", "Sam", "America/New_York", ("tue", "18:00", "19:00"))
    assert result_for(priya, sam).suggestion == (
        "If Priya could start 1 h 30 min earlier on Wednesdays (04:30 instead of 06:00, Asia/Kolkata), "
        "Priya and Sam would share a 60-minute slot.")


def test_suggestion_picks_the_smallest_change_and_the_person_who_can_make_it():
    # Overlap is 30 min (00:30-01:00Z); only Priya starting 30 min earlier gives 60.
    priya = person("p1", "Priya", "Asia/Kolkata", ("wed", "06:00", "06:30"))
    sam = person("p2", "Sam", "America/New_York", ("tue", "18:00", "20:00"))
    assert result_for(sam, priya).suggestion == (
        "If Priya could start 30 min earlier on Wednesdays (05:30 instead of 06:00, Asia/Kolkata), "
        "Priya and Sam would share a 60-minute slot.")


def test_suggestion_stay_later():
    ana = person("a", "Ana", "Europe/London", ("mon", "09:00", "10:00"), ("fri", "09:00", "12:00"))
    ben = person("b", "Ben", "Europe/Berlin", ("mon", "11:45", "15:00"))  # 10:45 London
    assert result_for(ana, ben).suggestion == (
        "If Ana could stay 1 h 45 min later on Mondays (until 11:45 instead of 10:00, Europe/London), "
        "Ana and Ben would share a 60-minute slot.")


def test_someone_without_windows_is_offered_a_window_of_the_partners_in_their_own_zone():
    ana = person("a", "Ana", "Europe/London")
    ben = person("b", "Ben", "Europe/Berlin", ("mon", "11:00", "15:00"))
    assert result_for(ana, ben).suggestion == (
        "If Ana could be available on Mondays 10:00–11:00 (Europe/London), when Ben is available, "
        "Ana and Ben would share a 60-minute slot.")


def test_windows_on_different_days_get_a_concrete_window_nearest_the_persons_own():
    ana = person("a", "Ana", "Europe/London", ("mon", "09:00", "10:00"))
    ben = person("b", "Ben", "Asia/Kolkata", ("wed", "15:00", "17:00"))  # Wednesday 09:30-11:30 London
    assert result_for(ana, ben).suggestion == (
        "If Ana could also be available on Wednesdays 09:30–10:30 (Europe/London), when Ben is available, "
        "Ana and Ben would share a 60-minute slot.")


def test_windows_too_short_for_the_session_get_one_time_for_both():
    ana = person("a", "Ana", "Europe/London", ("mon", "09:00", "09:30"))
    ben = person("b", "Ben", "Asia/Kolkata", ("mon", "14:30", "15:00"))  # the same half hour
    assert result_for(ana, ben).suggestion == (
        "If Ana could be available on Mondays 09:00–10:00 (Europe/London) and Ben at the same time, "
        "Mondays 14:30–15:30 (Asia/Kolkata), they could share a 60-minute slot.")


def test_nobody_with_windows_still_gets_named():
    result = result_for(person("a", "Ana", "Europe/London"), person("b", "Ben", "Europe/Berlin"))
    assert result.suggestion.startswith("If Ana and Ben could each add a weekly availability window")


def test_a_suggestion_never_crosses_midnight():
    ana = person("a", "Ana", "Europe/London", ("mon", "22:30", "24:00"))
    ben = person("b", "Ben", "Europe/London", ("tue", "00:00", "00:45"))
    # Stretching across midnight is no option; a window on Ana's side of midnight is.
    assert result_for(ana, ben).suggestion == (
        "If Ben could also be available on Mondays 23:00–24:00 (Europe/London), when Ana is available, "
        "Ben and Ana would share a 60-minute slot.")


def test_the_suggestion_looks_at_every_week_of_the_programme_not_just_the_first():
    # Ana's half hour meets Ben's hour except while New York is on summer time and London is
    # not (2027-03-14 to 03-28), when Ben's hour is Ana's 13:00-14:00. The first two weeks are
    # in that gap; the other six are not, so Ana staying later helps most.
    ana = person("a", "Ana", "Europe/London", ("tue", "14:00", "14:30"))
    ben = person("b", "Ben", "America/New_York", ("tue", "09:00", "10:00"))
    result = plan_series("m", ana, ben, plan("weekly", weeks=8, starts_on=utc(2027, 3, 15)), now=utc(2027, 1, 1))
    assert isinstance(result, Unschedulable)
    assert result.suggestion == (
        "If Ana could stay 30 min later on Tuesdays (until 15:00 instead of 14:30, Europe/London), "
        "Ana and Ben would share a 60-minute slot in 6 of the 8 weeks with a session.")


def test_unknown_time_zone_is_reported_not_raised():
    ana = person("a", "Ana", "Mars/Olympus_Mons", ("mon", "09:00", "12:00"))
    ben = person("b", "Ben", "Europe/London", ("mon", "09:00", "12:00"))
    result = result_for(ana, ben)
    assert result.reason == "Ana's time zone 'Mars/Olympus_Mons' is not a known IANA time zone."
    assert result.suggestion.startswith("If Ana could set an IANA time zone")
