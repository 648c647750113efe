"""Continuous mode with a batch window on the running stack: arrivals within the window are proposed
together, when it ends, exactly as the optimiser pairs that pool (`reciprocal match` on the same
profiles); a decline is refilled in the next window, not on the spot."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from support import PROGRAM, bearer, of_org, profile

from reciprocal.offline_match import run_match
from reciprocal.wire import Frontend, Tap
from shared.contract import ProfileChanged

WINDOW_S = 4
# A greedy trap: one by one, p0 and p1 (each other's best) would be proposed as soon as both were there,
# leaving p2 (who can only learn from p0) and p3 (only from p1) with nobody; the window's optimiser pairs all four.
SKILLS = [(["leadership", "sql"], ["python"]), (["python"], ["leadership", "sql"]), (["python"], ["leadership"]),
          (["sql"], ["python"])]


def pairs(events: list[dict]) -> set[frozenset[str]]:
    return {frozenset((e["person_a"], e["person_b"])) for e in events}


async def test_arrivals_in_one_window_get_the_optimisers_pairs_and_a_decline_waits_for_the_next(stack, tmp_path):
    org = f"org-{uuid.uuid4().hex[:6]}"
    program = {"org_id": org, **PROGRAM, "batch_window": WINDOW_S}
    people = [ProfileChanged(**profile(org, f"p{i}", offers=o, wants=w, department=f"dept-{i}"), version=1)
              for i, (o, w) in enumerate(SKILLS)]
    topics = ["matches.proposed", "profiles.changed"]
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, topics) as tap, \
            httpx.AsyncClient(base_url=stack.service_url("matcher"), timeout=30) as web:
        await fe.publish("programs.configured", program)
        await asyncio.sleep(0.5)
        sent_at = datetime.now(UTC)
        for p in people:
            await fe.publish("profiles.changed", p.model_dump(mode="json"))
        await asyncio.sleep(WINDOW_S - 1.5)
        assert of_org(tap.events("matches.proposed"), org) == [], "proposed before the window ended"
        pool = (await web.get("/programs/pilot/pool", headers=bearer(stack, org))).json()
        assert pool["people"] == 4 and pool["next_batch_at"], pool
        await tap.wait_for(lambda t: of_org(t.events("matches.proposed"), org), what="the window's proposals",
                           timeout=WINDOW_S + 20)
        await tap.settle("matches.proposed", quiet=1.5)
        batch = of_org(tap.events("matches.proposed"), org)
        first = min(datetime.fromisoformat(e["occurred_at"]) for e in batch)
        assert first >= sent_at + timedelta(seconds=WINDOW_S - 1), "the batch ran before its window ended"

        path = tmp_path / "window.jsonl"
        path.write_text("\n".join([json.dumps({"event_type": "programs.configured", **program}),
                                   *(p.model_dump_json() for p in people)]) + "\n")
        offline = run_match(path, now=first.isoformat())
        assert pairs(batch) == pairs(offline["pairs"]) == {frozenset(("p0", "p2")), frozenset(("p1", "p3"))}
        assert abs(sum(e["score"] for e in batch) - offline["objective"]) < 1e-6
        assert (await web.get("/programs/pilot/pool", headers=bearer(stack, org))).json()["next_batch_at"] is None

        late = ProfileChanged(**profile(org, "p4", offers=["python"], wants=["sql"], department="dept-4"),
                              version=1)
        await fe.publish("profiles.changed", late.model_dump(mode="json"))
        declined = next(e for e in batch if "p0" in (e["person_a"], e["person_b"]))
        await fe.publish("matches.responded", {"org_id": org, "match_id": declined["match_id"],
                                               "person_id": "p0", "decision": "decline", "reason": "not_a_fit"})
        await asyncio.sleep(WINDOW_S - 1.5)
        assert len(of_org(tap.events("matches.proposed"), org)) == 2, "refilled on the spot, not in a batch"
        await tap.wait_for(lambda t: len(of_org(t.events("matches.proposed"), org)) > 2, what="the next batch",
                           timeout=WINDOW_S + 20)
        await tap.settle("matches.proposed", quiet=1.5)
    refill = of_org(tap.events("matches.proposed"), org)[2:]
    assert frozenset(("p0", "p4")) in pairs(refill), "the declined person was matched in the next window"


async def test_a_program_that_requires_approval_turns_its_batch_into_a_preview_and_proposes_only_on_approval(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    program = {"org_id": org, **PROGRAM, "batch_window": WINDOW_S, "approval_required": True}
    people = [ProfileChanged(**profile(org, f"p{i}", offers=o, wants=w, department=f"dept-{i}"), version=1)
              for i, (o, w) in enumerate(SKILLS)]
    topics = ["matches.proposed", "programs.match-previewed"]
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, topics) as tap, \
            httpx.AsyncClient(base_url=stack.service_url("matcher"), timeout=30) as web:
        await fe.publish("programs.configured", program)
        await asyncio.sleep(0.5)
        for p in people:
            await fe.publish("profiles.changed", p.model_dump(mode="json"))
        await tap.wait_for(lambda t: of_org(t.events("programs.match-previewed"), org), what="the batch's preview",
                           timeout=WINDOW_S + 20)
        [previewed] = of_org(tap.events("programs.match-previewed"), org)
        await asyncio.sleep(1.5)
        assert of_org(tap.events("matches.proposed"), org) == [], "a batch proposed without an approval"
        assert previewed["pairs"] == 2
        approve = f"/programs/pilot/cohort-previews/{previewed['preview_id']}/approve"
        answer = await web.post(approve, headers=bearer(stack, org))
        assert answer.status_code == 200, answer.text
        await tap.wait_for(lambda t: len(of_org(t.events("matches.proposed"), org)) == 2, what="the approved pairs",
                           timeout=20)
    assert pairs(of_org(tap.events("matches.proposed"), org)) == {frozenset(("p0", "p2")), frozenset(("p1", "p3"))}
