from services.scheduler.domain import Unschedulable, plan_series

from scheduler_testkit import person, plan, utc

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


def test_someone_without_windows():
    ana = person("a", "Ana", "Europe/London")
    ben = person("b", "Ben", "Europe/Berlin", ("mon", "11:00", "15:00"))
    assert result_for(ana, ben).suggestion == (
        "If Ana could add a weekly availability window of at least 60 minutes, for example matching "
        "Ben's Monday 11:00-15:00 (Europe/Berlin), they could be scheduled.")


def test_windows_too_short_for_the_session():
    ana = person("a", "Ana", "Europe/London", ("mon", "09:00", "09:30"))
    ben = person("b", "Ben", "Europe/London", ("mon", "09:00", "09:30"))
    assert "at least 60 minutes" in result_for(ana, ben).suggestion


def test_a_suggestion_never_crosses_midnight():
    ana = person("a", "Ana", "Europe/London", ("mon", "22:30", "24:00"))
    ben = person("b", "Ben", "Europe/London", ("tue", "00:00", "00:45"))
    # Ben starting earlier means Monday 23:xx and Ana staying later means Tuesday: other days.
    assert result_for(ana, ben).suggestion == (
        "If Ana and Ben could each offer a window of at least 60 minutes at the same moment of the week, "
        "they could be scheduled.")


def test_unknown_time_zone_is_reported_not_raised():
    ana = person("a", "Ana", "Mars/Olympus_Mons", ("mon", "09:00", "12:00"))
    ben = person("b", "Ben", "Europe/London", ("mon", "09:00", "12:00"))
    result = result_for(ana, ben)
    assert result.reason == "Ana's time zone 'Mars/Olympus_Mons' is not a known IANA time zone."
    assert result.suggestion.startswith("If Ana could set an IANA time zone")
