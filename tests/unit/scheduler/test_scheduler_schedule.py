"""The Schedule aggregate: its transitions, the events each returns, and the moves it refuses."""

from datetime import timedelta

import pytest
from scheduler_testkit import person, plan, utc

from services.scheduler.domain import (
    IllegalTransition,
    Schedule,
    Scheduled,
    ScheduleStatus,
    plan_series,
)
from shared.contract import MatchAccepted, ScheduleCreated, ScheduleUnschedulable, ScheduleUpdated, Teaching

ANA = person("ana", "Ana", "Europe/London", ("tue", "09:00", "12:00"))
BEN = person("ben", "Ben", "Europe/London", ("tue", "09:00", "12:00"))
NOW = utc(2027, 1, 1)


def sessions(weeks: int = 4):
    result = plan_series("m-1", ANA, BEN, plan("weekly", weeks, starts_on=utc(2027, 1, 4)), now=NOW)
    assert isinstance(result, Scheduled)
    return result.sessions


def requested() -> Schedule:
    return Schedule.requested(MatchAccepted(
        org_id="acme", match_id="m-1", program_id="prog", person_a="ana", person_b="ben",
        a_teaches_b=[Teaching(skill="sql", goal="write joins")], correlation_id="corr-1"))


def in_status(status: ScheduleStatus) -> Schedule:
    schedule = requested()
    if status is ScheduleStatus.UNSCHEDULABLE:
        schedule.mark_unschedulable("no overlap", "If Ana could ...")
    elif status is ScheduleStatus.ACTIVE:
        schedule.create(sessions())
    elif status is ScheduleStatus.CANCELLED:
        schedule.cancel("ended", now=NOW)
    assert schedule.status is status
    return schedule


def test_a_requested_schedule_waits_with_the_match_fields():
    schedule = requested()
    assert (schedule.status, schedule.version, schedule.sessions) == (ScheduleStatus.WAITING, 0, [])
    assert schedule.schedule_id == "sch-m-1" and schedule.correlation_id == "corr-1"


def test_create_activates_at_version_1_and_publishes_the_series():
    schedule = in_status(ScheduleStatus.UNSCHEDULABLE)
    series = sessions()
    (created,) = schedule.create(series)
    assert isinstance(created, ScheduleCreated)
    assert (created.schedule_id, created.match_id, created.version, created.sessions) == ("sch-m-1", "m-1", 1, series)
    assert (created.person_a, created.person_b, created.correlation_id) == ("ana", "ben", "corr-1")
    assert (schedule.status, schedule.version, schedule.reason, schedule.suggestion) == (
        ScheduleStatus.ACTIVE, 1, None, None)


def test_unschedulable_is_reported_once_per_distinct_reason_and_suggestion():
    schedule = requested()
    (first,) = schedule.mark_unschedulable("no overlap", "If Ana could start earlier")
    assert isinstance(first, ScheduleUnschedulable) and first.suggestion == "If Ana could start earlier"
    assert schedule.mark_unschedulable("no overlap", "If Ana could start earlier") == []
    (changed,) = schedule.mark_unschedulable("no overlap", "If Ben could stay later")
    assert changed.suggestion == "If Ben could stay later" and schedule.status is ScheduleStatus.UNSCHEDULABLE


def test_reschedule_publishes_only_a_real_change_and_what_was_lost():
    schedule = in_status(ScheduleStatus.ACTIVE)
    assert schedule.reschedule(list(schedule.sessions)) == [] and schedule.version == 1
    moved = [s.model_copy(update={"starts_at": s.starts_at + timedelta(hours=1),
                                  "ends_at": s.ends_at + timedelta(hours=1)}) for s in schedule.sessions]
    (updated,) = schedule.reschedule(moved)
    assert isinstance(updated, ScheduleUpdated) and updated.version == schedule.version == 2
    assert updated.sessions == moved and not updated.cancelled
    flagged = [s.model_copy(update={"flagged": "no time"}) for s in moved]
    updated, lost = schedule.reschedule(flagged, ("no overlap any more", "If Ben could ..."))
    assert (updated.version, lost.reason) == (3, "no overlap any more") and isinstance(lost, ScheduleUnschedulable)
    assert schedule.status is ScheduleStatus.ACTIVE


def test_cancelling_a_schedule_not_started_is_quiet():
    for status in (ScheduleStatus.WAITING, ScheduleStatus.UNSCHEDULABLE):
        schedule = in_status(status)
        assert schedule.cancel("ended", now=NOW) == []
        assert (schedule.status, schedule.cancel_reason) == (ScheduleStatus.CANCELLED, "ended")


def test_cancelling_an_active_schedule_cancels_the_sessions_ahead_and_keeps_the_past():
    schedule = in_status(ScheduleStatus.ACTIVE)
    series = list(schedule.sessions)
    now = series[1].starts_at + timedelta(minutes=1)
    (updated,) = schedule.cancel("ended", now=now)
    assert isinstance(updated, ScheduleUpdated) and updated.cancelled and updated.version == 2
    assert updated.sessions == series[2:] and schedule.sessions == series[:2]
    assert (schedule.status, schedule.cancel_reason) == (ScheduleStatus.CANCELLED, "ended")


def test_the_document_round_trips_and_stores_plain_words():
    for status in ScheduleStatus:
        schedule = in_status(status)
        doc = schedule.to_doc()
        assert type(doc["status"]) is str and doc["status"] == status.value
        assert Schedule.from_doc(doc) == schedule
    active = in_status(ScheduleStatus.ACTIVE).to_doc()
    assert "reason" not in active and active["people"] == ["ana", "ben"] and active["version"] == 1


ILLEGAL = [
    (ScheduleStatus.ACTIVE, "create"), (ScheduleStatus.CANCELLED, "create"),
    (ScheduleStatus.ACTIVE, "mark_unschedulable"), (ScheduleStatus.CANCELLED, "mark_unschedulable"),
    (ScheduleStatus.WAITING, "reschedule"), (ScheduleStatus.UNSCHEDULABLE, "reschedule"),
    (ScheduleStatus.CANCELLED, "reschedule"),
    (ScheduleStatus.CANCELLED, "cancel"),
]
CALLS = {
    "create": lambda s: s.create(sessions()),
    "mark_unschedulable": lambda s: s.mark_unschedulable("no overlap", "If ..."),
    "reschedule": lambda s: s.reschedule(sessions(5)),
    "cancel": lambda s: s.cancel("again", now=NOW),
}


@pytest.mark.parametrize("status, action", ILLEGAL, ids=[f"{a}-from-{s}" for s, a in ILLEGAL])
def test_an_illegal_transition_raises_and_changes_nothing(status, action):
    schedule = in_status(status)
    before = schedule.to_doc()
    with pytest.raises(IllegalTransition) as raised:
        CALLS[action](schedule)
    assert raised.value.status is status and str(status) in str(raised.value)
    assert schedule.to_doc() == before


def test_every_other_transition_is_legal():
    illegal = set(ILLEGAL)
    for status in ScheduleStatus:
        for action, call in CALLS.items():
            if (status, action) not in illegal:
                call(in_status(status))  # does not raise


def test_erasure_forgets_a_name_in_every_agenda_and_the_reason_without_a_new_version():
    schedule = in_status(ScheduleStatus.ACTIVE)
    assert any("Ana" in line for s in schedule.sessions for line in s.agenda)
    version = schedule.version
    assert schedule.forget_name("Ana", "a former participant")
    assert not any("Ana" in line for s in schedule.sessions for line in s.agenda)
    assert any("a former participant" in line for s in schedule.sessions for line in s.agenda)
    assert schedule.version == version and not schedule.forget_name("Ana", "a former participant")
    waiting = in_status(ScheduleStatus.UNSCHEDULABLE)
    assert waiting.forget_name("Ana", "a former participant")
    assert waiting.suggestion == "If a former participant could ..."
    assert not requested().forget_name("  ", "x")
