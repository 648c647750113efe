from dataclasses import replace
from datetime import timedelta

import pytest
from scheduler_testkit import inside, person, plan, utc

from services.scheduler.domain import Scheduled, Unschedulable, plan_series, reschedule, reschedule_result

PLAN = plan("weekly", weeks=10, starts_on=utc(2027, 1, 4))
ANA = person("p-ana", "Ana", "Europe/London", ("tue", "09:00", "12:00"), ("thu", "13:00", "15:00"),
             wants=(("negotiation", "Close the supplier deal", 3),))
BEN = person("p-ben", "Ben", "Europe/Berlin", ("tue", "10:00", "13:00"), ("thu", "10:00", "17:00"),
             wants=(("python", "Automate reports", 2),))
NOW0 = utc(2027, 1, 1)
MID = utc(2027, 2, 3, 12)  # after session 5 (Tue 2 Feb), before session 6


def original():
    result = plan_series("m-7", ANA, BEN, PLAN, now=NOW0, a_teaches_b=[], b_teaches_a=[])
    assert isinstance(result, Scheduled)
    return result.sessions


def test_nothing_changed_means_nothing_changes():
    sessions = original()
    assert reschedule(sessions, ANA, BEN, PLAN, now=MID) == sessions


def test_past_sessions_stay_and_future_ones_follow_the_new_availability():
    sessions = original()
    assert all(s.starts_at.weekday() == 1 for s in sessions)  # Tuesdays
    ben_tuesdays_gone = replace(BEN, availability=(("thu", "10:00", "17:00"),))
    updated = reschedule(sessions, ANA, ben_tuesdays_gone, PLAN, now=MID)
    assert [s.number for s in updated] == list(range(1, 11))
    past = [s for s in sessions if s.starts_at <= MID]
    assert len(past) == 5 and updated[:5] == past
    for old, new in zip(sessions[5:], updated[5:], strict=True):
        assert new.session_id == old.session_id
        assert new.starts_at > MID and new.starts_at != old.starts_at
        assert (new.starts_at - old.starts_at) == timedelta(days=2, hours=3, minutes=30)  # Thu 13:30 London
        assert inside(ANA, new.starts_at, new.ends_at) and inside(ben_tuesdays_gone, new.starts_at, new.ends_at)
        assert (new.kind, new.teacher, new.learner, new.agenda) == (old.kind, old.teacher, old.learner, old.agenda)


def test_a_future_session_that_still_fits_keeps_its_time_even_if_no_longer_central():
    sessions = original()
    ben_wider = replace(BEN, availability=(("tue", "10:00", "13:00"), ("thu", "08:00", "20:00")))
    assert reschedule(sessions, ANA, ben_wider, PLAN, now=MID) == sessions


def test_a_time_zone_change_re_renders_and_moves_only_what_no_longer_fits():
    sessions = original()
    ben_moved = replace(BEN, timezone="America/New_York",
                        availability=(("tue", "04:00", "08:00"), ("thu", "08:00", "11:00")))
    updated = reschedule(sessions, ANA, ben_moved, PLAN, now=MID)
    assert updated[:5] == sessions[:5]
    for s in updated[5:]:
        assert inside(ANA, s.starts_at, s.ends_at) and inside(ben_moved, s.starts_at, s.ends_at)
        assert s.local_times[1].timezone == "America/New_York" and s.local_times[1].starts_at.endswith("-05:00")


def test_recomputed_sessions_never_land_in_the_past():
    sessions = original()
    assert sessions[5].starts_at == utc(2027, 2, 9, 10)
    now = utc(2027, 2, 9, 9, 30)  # session 6's Tuesday, before it starts
    # Tuesday's overlap becomes 09:00-10:30Z: the central 09:15 has already begun, so Thursday.
    ben_earlier = replace(BEN, availability=(("tue", "09:30", "11:30"), ("thu", "14:00", "15:00")))
    updated = reschedule(sessions, ANA, ben_earlier, PLAN, now=now)
    assert [s.number for s in updated] == list(range(1, 11))
    assert updated[5].starts_at == utc(2027, 2, 11, 13)
    assert all(s.starts_at > now for s in updated[5:])
    assert updated[6].starts_at == utc(2027, 2, 16, 9, 15)  # later weeks use the new centre


def test_longer_program_adds_sessions_after_the_existing_ones():
    sessions = original()
    updated = reschedule(sessions, ANA, BEN, replace(PLAN, duration_weeks=12), now=MID)
    assert updated[:10] == sessions
    assert [s.session_id for s in updated[10:]] == ["m-7-s11", "m-7-s12"]
    assert updated[10].starts_at - sessions[-1].starts_at == timedelta(weeks=1)


def test_no_overlap_any_more_flags_the_future_keeps_the_past_and_says_it_is_lost():
    sessions = original()
    ben_gone = replace(BEN, availability=(("sat", "10:00", "11:00"),))
    result = reschedule_result(sessions, ANA, ben_gone, PLAN, now=MID)
    assert isinstance(result.lost, Unschedulable) and "no 60-minute overlap" in result.lost.reason
    assert result.lost.suggestion.startswith("If ") and "Saturdays" in result.lost.suggestion
    updated = result.sessions
    assert updated == reschedule(sessions, ANA, ben_gone, PLAN, now=MID)
    assert updated[:5] == sessions[:5]
    assert all(s.flagged and s.flagged.startswith("No 60-minute time in the week of") for s in updated[5:])
    assert [s.starts_at for s in updated] == [s.starts_at for s in sessions]


def test_while_some_future_week_still_fits_nothing_is_lost():
    sessions = original()
    assert reschedule_result(sessions, ANA, BEN, PLAN, now=MID).lost is None


def test_lost_meeting_mode_flags_the_future_with_the_reason():
    sessions = original()
    ben_phone = replace(BEN, meeting_modes=("phone",))
    result = reschedule_result(sessions, ANA, ben_phone, PLAN, now=MID)
    assert isinstance(result.lost, Unschedulable) and "meeting mode" in result.lost.reason
    assert result.sessions[:5] == sessions[:5]
    assert all(s.flagged == result.lost.reason for s in result.sessions[5:])


def test_series_grid_survives_when_the_first_week_is_read_back():
    biweekly = plan("biweekly", weeks=12, starts_on=utc(2027, 1, 4))
    sessions = plan_series("m-8", ANA, BEN, biweekly, now=NOW0).sessions
    ben_thursdays = replace(BEN, availability=(("thu", "10:00", "17:00"),))
    updated = reschedule(sessions, ANA, ben_thursdays, biweekly, now=MID)
    for old, new in zip(sessions, updated, strict=True):
        if old.starts_at > MID:
            assert new.starts_at - old.starts_at == timedelta(days=2, hours=3, minutes=30)


def test_reschedule_needs_sessions_or_a_match_id():
    with pytest.raises(ValueError):
        reschedule([], ANA, BEN, PLAN, now=MID)


def test_a_pair_that_was_unschedulable_gets_a_fresh_series_once_it_fits():
    fresh = reschedule([], ANA, BEN, PLAN, now=MID, match_id="m-9")
    assert fresh == plan_series("m-9", ANA, BEN, PLAN, now=MID).sessions and fresh[0].kind == "kickoff"
    assert fresh[0].starts_at > MID
    ben_gone = replace(BEN, availability=(("sat", "10:00", "11:00"),))
    assert reschedule([], ANA, ben_gone, PLAN, now=MID, match_id="m-9") == []
    result = reschedule_result([], ANA, ben_gone, PLAN, now=MID, match_id="m-9")
    assert result.sessions == [] and isinstance(result.lost, Unschedulable)
