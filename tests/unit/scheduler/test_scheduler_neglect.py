"""A one-sided partnership: which session turns to the neglected direction, and its agenda."""

from datetime import timedelta

import pytest
from scheduler_testkit import person, plan, utc

from services.scheduler.domain import (
    IllegalTransition,
    Schedule,
    Scheduled,
    ScheduleStatus,
    neglected_agenda,
    neglected_direction_first,
    plan_series,
    session_to_swap,
)
from shared.contract import MatchAccepted, ScheduleUpdated

ANA = person("ana", "Ana", "Europe/London", ("tue", "09:00", "12:00"), wants=(("python", "ship a pipeline", 3),))
BEN = person("ben", "Ben", "Europe/London", ("tue", "09:00", "12:00"),
             wants=(("leadership", "run a meeting", 2), ("coaching", "give feedback", 3)))
NOW = utc(2027, 1, 1)


def series(weeks: int = 6):
    result = plan_series("m-1", ANA, BEN, plan("weekly", weeks, starts_on=utc(2027, 1, 4)), now=NOW)
    assert isinstance(result, Scheduled)
    return result.sessions


def directions(sessions) -> list[tuple[str | None, str | None]]:
    return [(s.teacher, s.learner) for s in sessions]


def test_the_next_teaching_session_turns_to_the_neglected_direction():
    sessions = series()
    assert directions(sessions) == [(None, None), ("ana", "ben"), ("ben", "ana"), ("ana", "ben"), ("ben", "ana"),
                                    ("ana", "ben")]
    swapped = neglected_direction_first(sessions, "ben", "ana", ["new agenda"], now=NOW)
    assert directions(swapped) == [(None, None), ("ben", "ana"), ("ben", "ana"), ("ana", "ben"), ("ben", "ana"),
                                   ("ana", "ben")]
    assert swapped[1].agenda == ["new agenda"]
    assert swapped[1].model_copy(update={"teacher": "ana", "learner": "ben", "agenda": sessions[1].agenda}) \
        == sessions[1]
    assert swapped[0] == sessions[0] and swapped[2:] == sessions[2:]


def test_when_the_next_one_already_goes_that_way_the_first_one_that_does_not_is_swapped():
    sessions = series()
    swapped = neglected_direction_first(sessions, "ana", "ben", ["more for ben"], now=NOW)
    assert directions(swapped)[1:4] == [("ana", "ben"), ("ana", "ben"), ("ana", "ben")]
    assert [s.session_id for s in swapped] == [s.session_id for s in sessions]
    assert swapped[2].agenda == ["more for ben"] and swapped[1] == sessions[1]


def test_the_kickoff_and_sessions_already_started_are_never_swapped():
    sessions = series()
    assert session_to_swap(sessions, "ben", "ana", now=NOW).number == 2  # not the kickoff (number 1)
    during_second = sessions[1].starts_at + timedelta(minutes=1)
    assert session_to_swap(sessions, "ana", "ben", now=during_second).number == 3
    assert session_to_swap(sessions, "ben", "ana", now=during_second).number == 4
    assert session_to_swap(sessions, "ana", "ben", now=sessions[5].starts_at) is None
    every_way = neglected_direction_first(neglected_direction_first(sessions, "ben", "ana", ["x"], now=during_second),
                                          "ben", "ana", ["x"], now=during_second)
    assert directions(every_way)[2:] == [("ben", "ana")] * 4
    assert neglected_direction_first(every_way, "ben", "ana", ["y"], now=during_second) == every_way


def active() -> Schedule:
    schedule = Schedule.requested(MatchAccepted(org_id="acme", match_id="m-1", program_id="prog", person_a="ana",
                                                person_b="ben", correlation_id="corr-1"))
    schedule.create(series())
    return schedule


def test_the_schedule_publishes_the_swap_with_a_new_version():
    schedule = active()
    (event,) = schedule.teach_neglected("ben", "ana", ["Goal: ship a pipeline"], now=NOW)
    assert isinstance(event, ScheduleUpdated) and not event.cancelled
    assert event.version == schedule.version == 2 and event.sessions == schedule.sessions
    assert event.correlation_id == "corr-1" and event.schedule_id == "sch-m-1"
    assert directions(schedule.sessions)[1] == ("ben", "ana")


def test_a_direction_that_is_not_the_pairs_or_nothing_to_swap_changes_nothing():
    schedule = active()
    assert schedule.teach_neglected("cat", "ana", ["x"], now=NOW) == []
    assert schedule.teach_neglected("ana", "ana", ["x"], now=NOW) == []
    assert schedule.teach_neglected("ben", "ana", ["x"], now=schedule.sessions[-1].starts_at) == []
    assert schedule.version == 1


@pytest.mark.parametrize("status", [ScheduleStatus.WAITING, ScheduleStatus.CANCELLED])
def test_only_an_active_schedule_can_be_swapped(status):
    schedule = Schedule.requested(MatchAccepted(org_id="acme", match_id="m-1", program_id="prog", person_a="ana",
                                                person_b="ben"))
    if status is ScheduleStatus.CANCELLED:
        schedule.cancel("ended", now=NOW)
    with pytest.raises(IllegalTransition):
        schedule.teach_neglected("ben", "ana", ["x"], now=NOW)


def test_the_agenda_works_on_the_first_neglected_goal_under_its_skill():
    agenda = neglected_agenda(ANA, BEN, ["give feedback", "run a meeting"], [("leadership", "run a meeting")])
    assert agenda[:2] == ["Ana helps Ben with coaching", "Goal: give feedback"]
    unknown = neglected_agenda(ANA, BEN, ["negotiate a raise"], [])
    assert unknown[:2] == ["Ana helps Ben with negotiate a raise", "Goal: negotiate a raise"]


def test_without_neglected_goals_the_agenda_falls_back_to_the_learners_goals():
    served = neglected_agenda(ANA, BEN, [], [("leadership", "run a meeting")])
    assert served[:2] == ["Ana helps Ben with leadership", "Goal: run a meeting"]
    wants = neglected_agenda(ANA, BEN, [], [])
    assert wants[:2] == ["Ana helps Ben with coaching", "Goal: give feedback"]  # the most wanted first
