"""The bounded program reads the console pages use, on the real stack: the matcher's figures and pages of
matches and unmatched people, schedules and balances by match id, flagged and unschedulable pairs, names
by person id. Admins of the org only; nothing across orgs; `limit` has a maximum; pages add up."""

import asyncio
import time
import uuid

import httpx
from support import PROGRAM, bearer, of_org, profile

from reciprocal.wire import Frontend, Tap


def get(stack, service, path, org, role="admin", person=None, **params):
    return httpx.get(stack.service_url(service) + path, headers=bearer(stack, org, role, person), params=params,
                     timeout=10)


async def until(check, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"no {what} within {timeout:g} s"
        await asyncio.sleep(0.3)


async def test_program_reads_are_paged_bounded_and_admin_only(stack):
    org, other = f"org-{uuid.uuid4().hex[:6]}", f"org-{uuid.uuid4().hex[:6]}"
    people = [profile(org, f"p{k}{side}", offers=[give], wants=[take], department=dept)
              for k in range(3) for side, give, take, dept in (("a", "leadership", "social media", "Finance"),
                                                                ("b", "social media", "leadership", "Marketing"))]
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap,
                                                          ["matches.proposed", "matches.accepted"]) as tap:
        await fe.publish("programs.configured", {"org_id": org, **PROGRAM})
        await asyncio.sleep(1)
        for p in people:
            await fe.publish("profiles.submitted", p)
        await tap.wait_for(lambda t: len(of_org(t.events("matches.proposed"), org)) >= 3, what="three proposals")
        proposals = of_org(tap.events("matches.proposed"), org)
        first = proposals[0]
        for person in (first["person_a"], first["person_b"]):
            await fe.publish("matches.responded", {"org_id": org, "match_id": first["match_id"], "person_id": person,
                                                   "decision": "accept"})
        await tap.wait_for(lambda t: of_org(t.events("matches.accepted"), org), what="an acceptance")

    def summary():
        s = get(stack, "matcher", "/programs/pilot/summary", org).json()
        return s if s["matches"] == {"accepted": 1, "proposed": 2} else None

    s = await until(summary, "summary with the acceptance")
    assert (s["pool_people"], s["matched_people"], s["unmatched"]) == (6, 6, 0)
    assert s["department_pairs"] == [["Finance", "Marketing", 3]] and s["median_hours_to_match"] is not None

    # pages of matches: oldest first, `total` over every page, a status filter, a bounded limit
    whole = get(stack, "matcher", "/programs/pilot/matches", org).json()
    assert whole["total"] == 3 and len(whole["matches"]) == 3
    one = get(stack, "matcher", "/programs/pilot/matches", org, limit=2).json()
    two = get(stack, "matcher", "/programs/pilot/matches", org, limit=2, offset=2).json()
    assert (one["total"], len(one["matches"]), len(two["matches"])) == (3, 2, 1)
    assert [m["match_id"] for m in one["matches"] + two["matches"]] == [m["match_id"] for m in whole["matches"]]
    running = get(stack, "matcher", "/programs/pilot/matches", org, status=["accepted", "ended"]).json()
    assert [m["match_id"] for m in running["matches"]] == [first["match_id"]] and running["total"] == 1
    row = running["matches"][0]
    # person_a is the lexically smaller id, so either side may be the Marketing one
    assert row["name_a"] and row["name_b"] and {row["department_a"], row["department_b"]} == {"Finance", "Marketing"}
    assert get(stack, "matcher", "/programs/pilot/matches", org, limit=501).status_code == 422
    assert get(stack, "matcher", "/programs/pilot/matches", org, offset=-1).status_code == 422
    assert get(stack, "matcher", "/programs/pilot/unmatched", org).json()["total"] == 0

    # schedules and balances by match id, names by person id (only the program's)
    def scheduled():
        got = get(stack, "scheduler", "/programs/pilot/schedules", org, match_id=[first["match_id"], "nope"]).json()
        return got["schedules"] or None

    [schedule] = await until(scheduled, "the schedule")
    assert schedule["match_id"] == first["match_id"]
    balances = await until(lambda: get(stack, "progress", "/programs/pilot/partnerships", org,
                                       match_id=[first["match_id"]]).json()["partnerships"], "the partnership")
    assert [b["match_id"] for b in balances] == [first["match_id"]]
    named = get(stack, "profiles", "/programs/pilot/people", org, person_id=["p0a", "p1b", "stranger"]).json()
    assert [(p["person_id"], p["department"]) for p in named["people"]] == [("p0a", "Finance"), ("p1b", "Marketing")]
    assert get(stack, "profiles", "/programs/other/people", org, person_id=["p0a"]).json()["people"] == []
    too_many = [f"x{i}" for i in range(201)]
    assert get(stack, "profiles", "/programs/pilot/people", org, person_id=too_many).status_code == 422
    assert get(stack, "scheduler", "/programs/pilot/schedules", org, match_id=too_many).status_code == 422
    assert get(stack, "progress", "/programs/pilot/partnerships", org, match_id=too_many).status_code == 422
    for service, path in (("progress", "/programs/pilot/flagged"), ("scheduler", "/programs/pilot/unschedulable")):
        got = get(stack, service, path, org).json()
        assert got["total"] == 0 and got["limit"] == 100, path
        assert get(stack, service, path, org, limit=0).status_code == 422, path

    # participants are refused every program read; another org's admin sees nothing of this one
    reads = [("matcher", "/programs/pilot/summary", {}), ("matcher", "/programs/pilot/unmatched", {}),
             ("matcher", "/programs/pilot/matches", {"limit": 2}),
             ("profiles", "/programs/pilot/people", {"person_id": ["p0a"]}),
             ("scheduler", "/programs/pilot/schedules", {"match_id": [first["match_id"]]}),
             ("scheduler", "/programs/pilot/unschedulable", {}),
             ("progress", "/programs/pilot/partnerships", {"match_id": [first["match_id"]]}),
             ("progress", "/programs/pilot/flagged", {})]
    for service, path, params in reads:
        assert get(stack, service, path, org, "participant", "p0a", **params).status_code == 403, path
    theirs = get(stack, "matcher", "/programs/pilot/summary", other).json()
    assert (theirs["matches"], theirs["pool_people"], theirs["department_pairs"]) == ({}, 0, [])
    assert get(stack, "matcher", "/programs/pilot/matches", other).json()["total"] == 0
    assert get(stack, "profiles", "/programs/pilot/people", other, person_id=["p0a"]).json()["people"] == []
    assert get(stack, "scheduler", "/programs/pilot/schedules", other,
               match_id=[first["match_id"]]).json()["schedules"] == []
    assert get(stack, "progress", "/programs/pilot/partnerships", other,
               match_id=[first["match_id"]]).json()["partnerships"] == []
