"""partnerships.flagged through the real broker and database: a one-sided partnership's neglected
direction is taught next; fizzling and unknown partnerships change no schedule."""

import uuid

import httpx
import icalendar
from support import PROGRAM, bearer, of_org, profile

from reciprocal.wire import Frontend, Tap
from shared.contract import ProfileChanged


def flag(org: str, match_id: str, kind: str, **extra: object) -> dict:
    return {"org_id": org, "match_id": match_id, "program_id": "pilot", "person_a": "anna", "person_b": "bert",
            "kind": kind, "reason": "bert has taught 0 of the 2 sessions held", **extra}


async def test_a_one_sided_flag_swaps_the_next_session_and_other_flags_change_nothing(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    a = profile(org, "anna", offers=["leadership"], wants=["python"])
    b = profile(org, "bert", offers=["python"], wants=["leadership"])
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap,
                                                          ["schedules.created", "schedules.updated"]) as tap:
        await fe.publish("programs.configured", {"org_id": org, **PROGRAM})
        for p in (a, b):
            await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
        await fe.publish("matches.accepted", {
            "org_id": org, "match_id": "m-flag", "program_id": "pilot", "person_a": "anna", "person_b": "bert",
            "a_teaches_b": [{"skill": "leadership", "goal": "lead a team"}],
            "b_teaches_a": [{"skill": "python", "goal": "automate reports"}]})
        await tap.wait_for(lambda t: of_org(t.events("schedules.created"), org), what="schedules.created")
        await fe.publish("partnerships.flagged", flag(org, "m-flag", "fizzling",
                                                      reason="none of the last 2 sessions happened"))
        await fe.publish("partnerships.flagged", flag(org, "m-unknown", "one_sided",
                                                      neglected={"teacher": "bert", "learner": "anna"}))
        await fe.publish("partnerships.flagged", flag(org, "m-flag", "one_sided",
                                                      neglected={"teacher": "bert", "learner": "anna"},
                                                      neglected_goals=["write a script that saves an hour"]))
        await tap.wait_for(lambda t: of_org(t.events("schedules.updated"), org), what="schedules.updated")
        await tap.settle("schedules.updated", quiet=2.0)
    (created,) = of_org(tap.events("schedules.created"), org)
    (updated,) = of_org(tap.events("schedules.updated"), org)
    assert updated["match_id"] == "m-flag" and updated["version"] == 2 and not updated["cancelled"]
    assert [s["session_id"] for s in updated["sessions"]] == [s["session_id"] for s in created["sessions"]]
    assert [(s["teacher"], s["learner"]) for s in created["sessions"][1:]] == [
        ("anna", "bert"), ("bert", "anna"), ("anna", "bert")]
    assert [(s["teacher"], s["learner"]) for s in updated["sessions"][1:]] == [
        ("bert", "anna"), ("bert", "anna"), ("anna", "bert")]
    assert "Goal: write a script that saves an hour" in updated["sessions"][1]["agenda"]

    url = stack.service_url("scheduler")
    read = httpx.get(f"{url}/matches/m-flag/schedule", headers=bearer(stack, org)).json()
    assert read["version"] == 2 and read["sessions"] == updated["sessions"]
    feed = httpx.get(f"{url}/people/anna/sessions.ics", headers=bearer(stack, org))
    assert {int(e["SEQUENCE"]) for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")} == {2}
    assert httpx.get(f"{url}/matches/m-unknown/schedule", headers=bearer(stack, org)).status_code == 404
