import pytest
from progress_testkit import DEFAULTS, NOW, A, B, check, partnership, series, session

from services.progress.domain import CheckIn, CheckInRefused, IllegalTransition, PartnershipStatus, check_in_errors

AB, BA = (A, B), (B, A)


def refused(p, checkin: CheckIn) -> dict[str, str]:
    with pytest.raises(CheckInRefused) as caught:
        p.check_in(checkin, thresholds=DEFAULTS, now=NOW)
    return {e.field: e.message for e in caught.value.errors}


def test_a_check_in_for_an_unknown_session_is_refused_and_changes_nothing():
    p = partnership(series(AB))
    before = (dict(p.checkins), dict(p.sessions), p.balance_version)
    assert refused(p, CheckIn("m1-s07", B, "yes", 5)) == {
        "session_id": "is not a session of this partnership; if its schedule was only just made, try again in a "
                      "minute"}
    assert (dict(p.checkins), dict(p.sessions), p.balance_version) == before


def test_a_check_in_from_someone_outside_the_pair_is_refused():
    p = partnership(series(AB))
    assert refused(p, CheckIn("m1-s01", "eve", "yes", 5)) == {"person_id": "is not one of the two partners"}
    assert not p.checkins


def test_a_check_in_for_a_session_that_has_not_started_is_refused():
    p = partnership([session(1, A, B, days_ago=-1)])
    errors = refused(p, CheckIn("m1-s01", B, "yes", 5))
    assert errors["session_id"].startswith("has not started yet (it starts at 2027-03-02 12:00 UTC")
    assert not p.sessions["m1-s01"].due


def test_every_reason_is_given_at_once_and_an_unknown_partnership_is_refused_too():
    p = partnership(series(AB))
    assert set(refused(p, CheckIn("m1-s09", "eve", "no"))) == {"session_id", "person_id"}
    [error] = check_in_errors(None, "m1-s01", A, NOW)
    assert error.field == "match_id" and "try again" in error.message


def test_ending_twice_is_an_illegal_transition():
    p = partnership(series(AB))
    p.end("goals_met", at=NOW, thresholds=DEFAULTS, now=NOW)
    assert p.status is PartnershipStatus.ENDED and p.end_reason == "goals_met" and p.ended_at == NOW
    with pytest.raises(IllegalTransition, match="already ended"):
        p.end("left", at=NOW, thresholds=DEFAULTS, now=NOW)
    assert p.end_reason == "goals_met"


def test_an_ended_partnership_gets_no_new_sessions_but_its_series_can_be_cancelled():
    sessions = series(AB, BA)
    p = partnership(sessions)
    p.end("schedule", at=NOW, thresholds=DEFAULTS, now=NOW)
    with pytest.raises(IllegalTransition, match="no new sessions"):
        p.schedule([*sessions, session(3, A, B, days_ago=-7)], version=2, cancelled=False, thresholds=DEFAULTS,
                   now=NOW)
    assert len(p.sessions) == 2
    p.schedule(sessions[1:], version=2, cancelled=True, thresholds=DEFAULTS, now=NOW)
    assert list(p.sessions) == ["m1-s01"]


def test_nobody_is_asked_to_check_in_after_the_end_or_for_a_session_that_is_gone():
    p = partnership(series(AB))
    with pytest.raises(IllegalTransition, match="no longer part"):
        p.request_check_in("m1-s05", thresholds=DEFAULTS, now=NOW)
    p.end("left", at=NOW, thresholds=DEFAULTS, now=NOW)
    with pytest.raises(IllegalTransition, match="has ended"):
        p.request_check_in("m1-s01", thresholds=DEFAULTS, now=NOW)


def test_a_late_check_in_after_the_end_still_counts():
    p = partnership(series(AB))
    p.end("goals_met", at=NOW, thresholds=DEFAULTS, now=NOW)
    check(p, 1, B, "yes", learned=5)
    assert p.held("m1-s01")


def test_goals_may_arrive_after_the_schedule():
    from datetime import timedelta

    from services.progress.domain import Goal, Partnership, ledger

    p = Partnership.begin("acme", "m1", "pilot", A, B, began_at=NOW)
    p.schedule(series(AB), version=1, cancelled=False, thresholds=DEFAULTS, now=NOW)
    assert ledger(p).a_teaches_b.goals == []
    p.learn_goals([], [Goal("leadership", "run my first team meeting")], began_at=NOW - timedelta(hours=1),
                  thresholds=DEFAULTS, now=NOW)
    assert [g.goal for g in ledger(p).a_teaches_b.goals] == ["run my first team meeting"]
    assert p.began_at == NOW - timedelta(hours=1)
