"""The progress service as a process, against the real broker and database: upstream events are
published by hand, check-ins both ways, the ledger read over HTTP and the events it publishes."""

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import bson
import httpx
import pytest
from pymongo import AsyncMongoClient
from support import bearer, of_org

from reciprocal.embedded import EmbeddedStack
from reciprocal.wire import Frontend, Tap

TOPICS = ["partnerships.balance-changed", "partnerships.flagged", "sessions.checkin-rejected", "checkins.requested",
          "sessions.checked-in.dlq"]
NEVER_ASKED = 7 * 24 * 60  # checkin_after_minutes: sessions of a few hours ago are not asked about yet


class Progress:
    """The running progress service: the stack it runs on and its read endpoints."""

    def __init__(self, stack: EmbeddedStack) -> None:
        self.stack = stack
        self.kafka_bootstrap = stack.kafka_bootstrap

    def get(self, path: str, org: str) -> httpx.Response:
        return httpx.get(f"{self.stack.service_url('progress')}{path}", headers=bearer(self.stack, org))

    def balance(self, org: str, match_id: str) -> dict[str, Any] | None:
        answer = self.get(f"/partnerships/{match_id}/balance", org)
        return answer.json() if answer.status_code == 200 else None

    def outcomes(self, org: str) -> dict[str, Any]:
        return self.get("/programs/pilot/outcomes", org).json()

    def flags(self, org: str) -> dict[str, Any]:
        return self.get("/programs/pilot/flags", org).json()


@pytest.fixture(scope="module")
def progress(infrastructure: EmbeddedStack) -> Iterator[Progress]:
    """The progress service alone (or the whole stack's, when that already runs)."""
    started = "progress" not in infrastructure.procs
    if started:
        infrastructure.start_service("progress", RECIPROCAL_TIMER_POLL_S="0.5")
        infrastructure.wait_ready(("progress",))
    yield Progress(infrastructure)
    if started:
        infrastructure.stop_service("progress")


def sessions(match_id: str, plan: list[tuple[str | None, str | None, float]]) -> list[dict[str, Any]]:
    """(teacher, learner, hours from now) -> sessions of one hour; teacher None is the kickoff."""
    out = []
    for number, (teacher, learner, hours) in enumerate(plan, start=1):
        starts = datetime.now(UTC) + timedelta(hours=hours)
        goal = {"ben": "run my first team meeting", "ana": "automate my reports"}.get(learner or "", "")
        out.append({"session_id": f"{match_id}-s{number:02d}", "number": number,
                    "kind": "teaching" if teacher else "kickoff", "starts_at": starts.isoformat(),
                    "ends_at": (starts + timedelta(hours=1)).isoformat(), "mode": "video", "teacher": teacher,
                    "learner": learner, "agenda": [f"Goal: {goal}"] if goal else ["Ground rules"], "local_times": []})
    return out


async def begin(progress: Progress, fe: Frontend, org: str, match_id: str, plan: list, **program: Any) -> None:
    """Program thresholds, the accepted match and its schedule, as the other services publish them."""
    await fe.publish("programs.configured", {"org_id": org, "program_id": "pilot", "name": "Pilot", **program})
    await until(
        lambda: progress.outcomes(org)["thresholds"]["checkin_after_minutes"] == program["checkin_after_minutes"],
        "the program's thresholds")
    await fe.publish("matches.accepted", {
        "org_id": org, "match_id": match_id, "program_id": "pilot", "person_a": "ana", "person_b": "ben",
        "a_teaches_b": [{"skill": "leadership", "goal": "run my first team meeting"}],
        "b_teaches_a": [{"skill": "python", "goal": "automate my reports"}]})
    await fe.publish("schedules.created", {
        "org_id": org, "schedule_id": f"sch-{match_id}", "match_id": match_id, "program_id": "pilot",
        "person_a": "ana", "person_b": "ben", "version": 1, "sessions": sessions(match_id, plan)})
    await until(lambda: (progress.balance(org, match_id) or {}).get("sessions_scheduled") == len(plan), "the schedule")


def checkin(org: str, match_id: str, number: int, person: str, happened: str, **ratings: Any) -> dict[str, Any]:
    return {"org_id": org, "match_id": match_id, "session_id": f"{match_id}-s{number:02d}", "person_id": person,
            "happened": happened, **ratings}


async def until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def test_check_ins_both_ways_make_the_balance_and_a_one_sided_pattern_is_flagged_once(progress):
    org, match_id = f"org-{uuid.uuid4().hex[:6]}", "m-one-sided"
    # kickoff, then ana teaches ben four times and ben teaches ana once; one session still ahead
    plan = [(None, None, -60), ("ana", "ben", -50), ("ana", "ben", -40), ("ana", "ben", -30), ("ben", "ana", -20),
            ("ana", "ben", -10), ("ben", "ana", 24)]
    async with Frontend(progress.kafka_bootstrap) as fe, Tap(progress.kafka_bootstrap, TOPICS) as tap:
        await begin(progress, fe, org, match_id, plan, checkin_after_minutes=NEVER_ASKED)
        await fe.publish("sessions.checked-in", checkin(org, match_id, 1, "ana", "yes"))
        await fe.publish("sessions.checked-in", checkin(org, match_id, 2, "ben", "no"))
        await fe.publish("sessions.checked-in", checkin(org, match_id, 2, "ben", "yes", learned=4))  # replaces
        for number in (3, 4, 6):
            await fe.publish("sessions.checked-in", checkin(org, match_id, number, "ben", "yes", learned=5))
            await fe.publish("sessions.checked-in", checkin(org, match_id, number, "ana", "yes", helped=4))
        await fe.publish("sessions.checked-in", checkin(org, match_id, 5, "ana", "yes", learned=2,
                                                        note="private: this is not working for me"))
        bad = [await fe.publish("sessions.checked-in", checkin(org, match_id, 9, "ana", "yes")),
               await fe.publish("sessions.checked-in", checkin(org, match_id, 2, "eve", "yes", learned=5)),
               await fe.publish("sessions.checked-in", checkin(org, match_id, 7, "ben", "yes", learned=5))]
        await tap.wait_for(lambda t: len(of_org(t.events("sessions.checkin-rejected"), org)) >= 3, what="rejections")
        await tap.wait_for(lambda t: of_org(t.events("partnerships.flagged"), org), what="partnerships.flagged")
        await until(lambda: progress.balance(org, match_id)["sessions_due"] == 6, "every check-in")
        await tap.settle("partnerships.flagged", quiet=2.0)

    book = progress.balance(org, match_id)
    assert (book["sessions_scheduled"], book["sessions_due"], book["sessions_held"]) == (7, 6, 6)
    ab, ba = book["a_teaches_b"], book["b_teaches_a"]
    assert (ab["teacher"], ab["learner"], ab["held"], ab["learned_avg"], ab["learned_ratings"]) == (
        "ana", "ben", 4, 4.75, 4)
    assert (ab["helped_avg"], ab["helped_ratings"]) == (4.0, 3)
    assert ab["goals"] == [{"skill": "leadership", "goal": "run my first team meeting", "sessions": 4}]
    assert (ba["held"], ba["learned_avg"], ba["helped_avg"]) == (1, 2.0, None)
    assert book["share_taught_by_a"] == 0.8 and book["flags"] == ["one_sided"]
    assert "private" not in str(book)

    published = of_org(tap.events("partnerships.balance-changed"), org)
    assert [e["version"] for e in published] == sorted({e["version"] for e in published})  # in order, no repeats
    assert published[-1]["version"] == book["version"] and published[-1]["a_teaches_b"] == ab
    assert all("private" not in str(e) for e in published)

    [flag] = of_org(tap.events("partnerships.flagged"), org)
    assert (flag["kind"], flag["match_id"], flag["program_id"]) == ("one_sided", match_id, "pilot")
    assert flag["neglected"] == {"teacher": "ben", "learner": "ana"}
    assert flag["neglected_goals"] == ["automate my reports"]
    assert "ben has taught 0 of the 4 sessions held (0%" in flag["reason"]  # its onset; later answers add none

    rejected = {e["rejected_event_id"]: e for e in of_org(tap.events("sessions.checkin-rejected"), org)}
    assert set(rejected) == {e["event_id"] for e in bad}
    reasons = [{x["field"]: x["message"] for x in rejected[e["event_id"]]["errors"]} for e in bad]
    assert reasons[0]["session_id"].startswith("is not a session of this partnership")
    assert reasons[1] == {"person_id": "is not one of the two partners"}
    assert reasons[2]["session_id"].startswith("has not started yet")
    assert progress.balance("another-org", match_id) is None  # org-scoped

    async with Frontend(progress.kafka_bootstrap) as fe:
        await fe.publish("matches.withdrawn", {"org_id": org, "match_id": match_id, "program_id": "pilot",
                                               "person_a": "ana", "person_b": "ben", "reason": "goals_met",
                                               "partnership_ended": True})
    await until(lambda: progress.balance(org, match_id)["status"] == "ended", "the end")
    out = progress.outcomes(org)
    assert (out["partnerships"], out["active"], out["ended"], out["ended_successfully"]) == (1, 0, 1, 1)
    assert out["ended_by_reason"] == {"goals_met": 1} and out["both_learning"] == 0  # ana learns 2.0
    assert out["held_session_rate"] == 1.0 and progress.balance(org, match_id)["flags"] == []
    assert out["rematch"] == {"rematched": 0, "waiting": 2, "median_hours_to_rematch": None}


async def test_a_fizzling_pattern_is_flagged_once_and_reaches_the_admins_when_it_persists(progress):
    org, match_id = f"org-{uuid.uuid4().hex[:6]}", "m-fizzling"
    plan = [(None, None, -60), ("ana", "ben", -50), ("ben", "ana", -40), ("ana", "ben", -30), ("ben", "ana", -20),
            ("ana", "ben", -10)]
    async with Frontend(progress.kafka_bootstrap) as fe, Tap(progress.kafka_bootstrap, TOPICS) as tap:
        await begin(progress, fe, org, match_id, plan, checkin_after_minutes=NEVER_ASKED, fizzle_after_missed=3)
        await fe.publish("sessions.checked-in", checkin(org, match_id, 1, "ana", "yes", learned=4))
        for number, person, happened in [(2, "ana", "no"), (2, "ben", "no"), (3, "ben", "moved"), (4, "ana", "no")]:
            await fe.publish("sessions.checked-in", checkin(org, match_id, number, person, happened))
        await tap.wait_for(lambda t: of_org(t.events("partnerships.flagged"), org), what="partnerships.flagged")
        assert progress.flags(org)["flags"] == []  # just raised
        for number in (5, 6):  # two more sessions missed since the onset: the flag persists
            await fe.publish("sessions.checked-in", checkin(org, match_id, number, "ben", "no"))
        await until(lambda: progress.balance(org, match_id)["sessions_due"] == 6, "the last check-ins")
        await tap.settle("partnerships.flagged", quiet=2.0)
    [flag] = of_org(tap.events("partnerships.flagged"), org)
    assert flag["kind"] == "fizzling" and flag["neglected"] is None and "last 3 sessions" in flag["reason"]
    listed = progress.flags(org)
    assert listed["persistent_after_sessions"] == 2
    assert [(f["match_id"], f["kind"], f["sessions_since"]) for f in listed["flags"]] == [(match_id, "fizzling", 2)]
    assert progress.flags("another-org")["flags"] == []


async def test_both_partners_are_asked_to_check_in_once_per_session_that_ended(progress):
    org, match_id = f"org-{uuid.uuid4().hex[:6]}", "m-asked"
    plan = [(None, None, -30), ("ana", "ben", -20), ("ben", "ana", 48)]
    async with Frontend(progress.kafka_bootstrap) as fe, Tap(progress.kafka_bootstrap, TOPICS) as tap:
        await begin(progress, fe, org, match_id, plan, checkin_after_minutes=0)
        await tap.wait_for(lambda t: len(of_org(t.events("checkins.requested"), org)) >= 2, what="two requests")
        await tap.settle("checkins.requested", quiet=2.0)
    asked = of_org(tap.events("checkins.requested"), org)
    assert sorted((e["session_id"], e["teacher"], e["learner"]) for e in asked) == [
        (f"{match_id}-s01", None, None), (f"{match_id}-s02", "ana", "ben")]  # once each; s03 is ahead
    assert all((e["person_a"], e["person_b"], e["program_id"]) == ("ana", "ben", "pilot") for e in asked)
    assert progress.balance(org, match_id)["sessions_due"] == 2


async def test_a_poison_check_in_goes_to_the_dead_letter_topic_and_the_service_keeps_going(progress):
    org, match_id = f"org-{uuid.uuid4().hex[:6]}", "m-poison"
    async with Frontend(progress.kafka_bootstrap) as fe, Tap(progress.kafka_bootstrap, TOPICS) as tap:
        await fe.publish_raw("sessions.checked-in", b"{not json", key=match_id.encode())
        over = await fe.publish("sessions.checked-in", checkin(org, match_id, 1, "ana", "yes", learned=9))
        await tap.wait_for(lambda t: len([r for r in t.records if r.topic == "sessions.checked-in.dlq"
                                          and r.key == match_id.encode()]) >= 2, what="two dead letters")
        after = await fe.publish("sessions.checked-in", checkin(org, match_id, 1, "ana", "yes"))
        await tap.wait_for(lambda t: any(e["rejected_event_id"] == after["event_id"]
                                         for e in t.events("sessions.checkin-rejected")), what="the next check-in")
    dead = [r for r in tap.records if r.topic == "sessions.checked-in.dlq" and r.key == match_id.encode()]
    headers = [{k: v.decode() for k, v in r.headers} for r in dead]
    assert [h["dlq-error-type"] for h in headers] == ["not_json", "schema_invalid"]
    assert all(h["dlq-consumer-group"] == "reciprocal-progress" for h in headers)
    assert "learned" in headers[1]["dlq-error-message"] and over["event_id"].encode() in dead[1].value


@pytest.mark.faults_full  # a kill -9: make faults
async def test_check_in_requests_fire_once_with_two_replicas_after_a_kill_9(progress):
    """Timers live in MongoDB: events that arrive while the service is down make timers that the
    two replicas started afterwards both see; the guarded claim lets exactly one fire each."""
    org, match_id = f"org-{uuid.uuid4().hex[:6]}", "m-replicas"
    stack = progress.stack
    plan = [(None, None, -100)] + [(("ana", "ben"), ("ben", "ana"))[n % 2] + (-90 + n * 10,) for n in range(7)]
    stack.stop_service("progress", kill=True)
    try:
        async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, TOPICS) as tap:
            await fe.publish("programs.configured", {"org_id": org, "program_id": "pilot", "name": "Pilot",
                                                     "checkin_after_minutes": 0})
            await fe.publish("schedules.created", {
                "org_id": org, "schedule_id": f"sch-{match_id}", "match_id": match_id, "program_id": "pilot",
                "person_a": "ana", "person_b": "ben", "version": 1, "sessions": sessions(match_id, plan)})
            for instance in ("progress", "progress-b"):
                stack.start_service("progress", instance=instance, RECIPROCAL_TIMER_POLL_S="0.2")
            stack.wait_ready(("progress", "progress-b"))
            await tap.wait_for(lambda t: len(of_org(t.events("checkins.requested"), org)) >= len(plan),
                               what="a request per session")
            await tap.settle("checkins.requested", quiet=2.0)
        asked = sorted(e["session_id"] for e in of_org(tap.events("checkins.requested"), org))
        assert asked == [s["session_id"] for s in sessions(match_id, plan)]
    finally:
        # Killed, not stopped: on Tansu, two members leaving a group back to back can leave a ghost
        # member that stalls the next join (as in the scheduler's replica test).
        for instance in ("progress-b", "progress"):
            if instance in stack.procs:
                stack.stop_service(instance, kill=True)
        stack.start_service("progress", RECIPROCAL_TIMER_POLL_S="0.5")
        stack.wait_ready(("progress",))


async def test_an_erased_persons_private_notes_leave_the_database_and_the_partners_balance_stays(progress):
    org, match_id = f"org-{uuid.uuid4().hex[:6]}", "m-erased"
    note = f"private-{uuid.uuid4().hex[:8]}: ana's thoughts"
    async with Frontend(progress.kafka_bootstrap) as fe, Tap(progress.kafka_bootstrap,
                                                             ["profiles.erasure-confirmed", *TOPICS]) as tap:
        await begin(progress, fe, org, match_id, [(None, None, -30), ("ben", "ana", -20)],
                    checkin_after_minutes=NEVER_ASKED)
        await fe.publish("sessions.checked-in", checkin(org, match_id, 2, "ana", "yes", learned=4, note=note))
        await fe.publish("sessions.checked-in", checkin(org, match_id, 2, "ben", "yes", helped=5, note="ben's own"))
        await until(lambda: (progress.balance(org, match_id)["b_teaches_a"]["learned_ratings"],
                             progress.balance(org, match_id)["b_teaches_a"]["helped_ratings"]) == (1, 1),
                    "both check-ins")
        export = str(progress.get("/people/ben/export", org).json())
        assert "ben's own" in export
        assert note not in export  # a partner's notes are never exported
        before = progress.balance(org, match_id)
        await fe.publish("profiles.erased", {"org_id": org, "person_id": "ana"})
        await tap.wait_for(lambda t: [e for e in of_org(t.events("profiles.erasure-confirmed"), org)
                                      if e["service"] == "progress"], what="the progress service's confirmation")
    # (with the whole stack running, the matcher, scheduler and notifier confirm too)
    [confirmation] = [e for e in of_org(tap.events("profiles.erasure-confirmed"), org) if e["service"] == "progress"]
    assert (confirmation["person_id"], confirmation["erased"] >= 1, confirmation["anonymised"]) == ("ana", True, 1)
    async with AsyncMongoClient(progress.stack.mongo_url) as client:
        db = client["reciprocal_progress"]
        for name in await db.list_collection_names():
            assert not [d async for d in db[name].find({}) if note.encode() in bson.encode(d)], name
    after = progress.balance(org, match_id)
    assert after["b_teaches_a"] == before["b_teaches_a"] and "ben's own" not in str(after)
