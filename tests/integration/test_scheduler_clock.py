"""The scheduler on an accelerated clock (one hour a second): the reminder of a session a day ahead,
days away on the wall clock, fires within seconds, exactly when the shared virtual time reaches it."""

import uuid
from datetime import UTC, datetime, time, timedelta

from support import PROGRAM, of_org, profile

from reciprocal.wire import Frontend, Tap
from shared.clock import Clock
from shared.contract import ProfileChanged

SPEED = 3600  # one virtual hour per real second
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
AHEAD = timedelta(hours=34)  # the kickoff is this far ahead: its 24-hour reminder is due 10 virtual hours later


def quarter_hour_after(moment: datetime) -> datetime:
    return moment + (datetime.min.replace(tzinfo=UTC) - moment) % timedelta(minutes=15)


async def test_an_accelerated_scheduler_fires_the_reminder_of_a_session_a_day_ahead_within_seconds(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    real_now = datetime.now(UTC)
    monday = (real_now + timedelta(days=3)).date()
    monday += timedelta(days=-monday.weekday() % 7)
    series_week = datetime.combine(monday, time(), UTC)  # at least 3 real days away
    # Virtual time starts 40 hours before that week (series start on the Monday after "now"): an epoch
    # that long ago at this speed. The restart may take up to ~36 real seconds (= virtual hours).
    virtual_start = series_week - timedelta(hours=40)
    epoch = real_now - (virtual_start - real_now) / (SPEED - 1)
    clock = Clock(epoch=epoch, speed=SPEED)
    stack.restart_service("scheduler", RECIPROCAL_CLOCK_SPEED=str(SPEED), RECIPROCAL_CLOCK_EPOCH=epoch.isoformat())
    ready_at = clock.now()
    assert ready_at < series_week - timedelta(hours=4), "the scheduler took too long to restart: rerun"
    # The only hour both people share: AHEAD after now (on the virtual clock), within the series' first week.
    kickoff = max(series_week, quarter_hour_after(ready_at + AHEAD))
    if (kickoff + timedelta(hours=1)).date() != kickoff.date():
        kickoff = datetime.combine(kickoff.date() + timedelta(days=1), time(), UTC)
    window = [{"weekday": WEEKDAYS[kickoff.weekday()], "start": f"{kickoff:%H:%M}",
               "end": f"{kickoff + timedelta(hours=1):%H:%M}"}]
    due = kickoff - timedelta(hours=24)
    program = {**PROGRAM, "cadence": "weekly", "duration_weeks": 2}
    people = [profile(org, p, offers=[o], wants=[w], tz="UTC", windows=window)
              for p, o, w in (("ivy", "python", "sql"), ("jon", "sql", "python"))]
    try:
        async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap,
                                                              ["schedules.created", "sessions.upcoming"]) as tap:
            await fe.publish("programs.configured", {"org_id": org, **program})
            for p in people:
                await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
            await fe.publish("matches.accepted", {"org_id": org, "match_id": f"m-{org}", "program_id": "pilot",
                                                  "person_a": "ivy", "person_b": "jon"})
            await tap.wait_for(lambda t: of_org(t.events("schedules.created"), org), what="schedules.created")
            created_at = clock.now()
            (created,) = of_org(tap.events("schedules.created"), org)
            first = created["sessions"][0]
            assert datetime.fromisoformat(first["starts_at"]) == kickoff
            assert created_at < due, "the machine was too slow to set the scene: rerun"
            assert kickoff - datetime.now(UTC) > timedelta(days=2)  # on the wall clock, the reminder is days away
            await tap.wait_for(lambda t: of_org(t.events("sessions.upcoming"), org), what="sessions.upcoming",
                               timeout=30)
        (reminder,) = of_org(tap.events("sessions.upcoming"), org)
        assert reminder["session_id"] == first["session_id"] and reminder["hours_before"] == 24
        fired = datetime.fromisoformat(reminder["occurred_at"])  # events are stamped by the service clock
        assert due <= fired <= due + timedelta(hours=3), (fired, due)
    finally:
        stack.restart_service("scheduler")
