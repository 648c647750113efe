"""programs.match-requested on the real stack: the run's proposals and its stored report agree."""

import uuid

import httpx
from pymongo import AsyncMongoClient
from support import PROGRAM, bearer, of_org
from test_matcher_lifecycle import changed, person, processed

from reciprocal.wire import Frontend, Tap
from services.matcher.domain import program_from_event
from shared.contract import ProgramConfigured


async def test_cohort_run_report_matches_its_proposals(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    people = [
        person(org, "fin-lead", "leadership", "social media", department="Finance"),
        person(org, "mkt-junior", "social media", "leadership", department="Marketing"),
        person(org, "ops-lead", "negotiation", "python", department="Operations"),
        person(org, "eng-junior", "python", "negotiation", department="Engineering"),
        person(org, "eng-french", "python", "negotiation", department="Engineering", languages=["fr"]),
        person(org, "one-way", "knitting", "leadership", department="People"),
    ]
    url = f"{stack.service_url('matcher')}/programs/pilot/cohort-report"
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["matches.proposed"]) as tap:
        # the people arrive before their program exists, so nothing matches them one by one ...
        await processed(stack, *[await fe.publish("profiles.changed", changed(p)) for p in people])
        assert httpx.get(url, headers=bearer(stack, org)).status_code == 404
        # ... and the program appears without its event (restored from a backup), so the
        # whole-cohort run is the one that pairs them
        client = AsyncMongoClient(stack.mongo_url)
        try:
            program = program_from_event(ProgramConfigured(org_id=org, **PROGRAM)).to_doc()
            await client["reciprocal_matcher"]["programs"].insert_one(program)
        finally:
            await client.close()
        run = await fe.publish("programs.match-requested", {"org_id": org, "program_id": "pilot"})
        await processed(stack, run)
        await tap.settle("matches.proposed", quiet=1.0)
        proposals = of_org(tap.events("matches.proposed"), org)

    response = httpx.get(url, headers=bearer(stack, org))
    assert response.status_code == 200
    report = response.json()
    assert report["run_id"] == run["event_id"] and report["mode"] == "exact" and report["upper_bound"] is None
    assert {frozenset((p["person_a"], p["person_b"])) for p in proposals} == {
        frozenset(("fin-lead", "mkt-junior")), frozenset(("ops-lead", "eng-junior"))}
    assert sorted(report["match_ids"]) == sorted(p["match_id"] for p in proposals)
    assert {frozenset((p["person_a"], p["person_b"])) for p in report["pairs"]} == {
        frozenset((p["person_a"], p["person_b"])) for p in proposals}
    assert abs(report["objective"] - sum(p["score"] for p in proposals)) < 1e-6
    assert (report["participants"], report["matched"]) == (6, 4)
    assert abs(report["coverage"] - 4 / 6) < 1e-9
    assert sorted(report["unmatched"]) == ["eng-french", "one-way"]
    assert report["unmatched"]["eng-french"][0].startswith("no_eligible_partner")
    assert report["department_matrix"] == {
        "Engineering": {"Operations": 1}, "Finance": {"Marketing": 1},
        "Marketing": {"Finance": 1}, "Operations": {"Engineering": 1},
    }
    other = httpx.get(url, headers=bearer(stack, f"other-{org}"))
    assert other.status_code == 404

    logged = [line for line in (stack.workdir / "logs" / "matcher.log").read_text().splitlines()
              if "matcher.cohort_matched" in line]
    assert logged and all("@" not in line and "fin-lead" not in line for line in logged)
