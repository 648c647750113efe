"""Reminder timers live in MongoDB: a kill -9 loses none, and two replicas fire each exactly once."""

import asyncio
import uuid
from collections import Counter

import pytest
from support import PROGRAM, of_org, profile

from reciprocal.wire import Frontend, Tap
from shared.contract import ProfileChanged

EVERY_REMINDER_DUE = str(24 * 7 * 20)  # a lead of 20 weeks: every reminder of an 8-week series is due


@pytest.mark.faults_full  # a kill -9: make faults
async def test_due_reminders_fire_once_after_kill_9_with_two_replicas(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    stack.restart_service("scheduler", RECIPROCAL_REMINDER_HOURS_BEFORE=EVERY_REMINDER_DUE,
                          RECIPROCAL_TIMER_POLL_S="3600")
    a = profile(org, "ria", offers=["leadership"], wants=["python"])
    b = profile(org, "sam", offers=["python"], wants=["leadership"])
    topics = ["schedules.created", "sessions.upcoming"]
    try:
        async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, topics) as tap:
            await fe.publish("programs.configured", {"org_id": org, **PROGRAM})
            for p in (a, b):
                await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
            await fe.publish("matches.accepted", {"org_id": org, "match_id": f"m-{org}", "program_id": "pilot",
                                                  "person_a": "ria", "person_b": "sam"})
            await tap.wait_for(lambda t: of_org(t.events("schedules.created"), org), what="schedules.created")
            await asyncio.sleep(1)
            assert not of_org(tap.events("sessions.upcoming"), org), "timers must wait for their poll"

            stack.stop_service("scheduler", kill=True)  # kill -9 with every reminder due and none fired
            for instance in ("scheduler", "scheduler-b"):
                stack.start_service("scheduler", instance=instance,
                                    RECIPROCAL_REMINDER_HOURS_BEFORE=EVERY_REMINDER_DUE, RECIPROCAL_TIMER_POLL_S="0.2")
            stack.wait_ready(("scheduler", "scheduler-b"))
            sessions = [s["session_id"] for s in of_org(tap.events("schedules.created"), org)[0]["sessions"]]
            await tap.wait_for(lambda t: len(of_org(t.events("sessions.upcoming"), org)) >= len(sessions),
                               what="a reminder per session")
            await tap.settle("sessions.upcoming", quiet=2.0)
        fired = Counter(e["session_id"] for e in of_org(tap.events("sessions.upcoming"), org))
        assert fired == Counter(sessions)
    finally:
        # Killed, not stopped: on Tansu, two members leaving a group back to back can leave a ghost
        # member that stalls the next join; a member that vanishes is expired cleanly.
        stack.stop_service("scheduler-b", kill=True)
        stack.restart_service("scheduler")
