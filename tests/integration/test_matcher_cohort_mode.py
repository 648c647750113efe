"""A cohort program on the running stack: nobody is proposed while registration is open; at the close,
by the service clock, the optimiser's pairs are proposed, and they equal `reciprocal match` on the
same profiles; a person who registers after the close is matched as in continuous mode."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

from support import PROGRAM, of_org, profile

from reciprocal.offline_match import run_match
from reciprocal.wire import Frontend, Tap
from shared.contract import ProfileChanged

SKILLS = [("leadership", "python"), ("python", "leadership"), ("sql", "negotiation"), ("negotiation", "sql"),
          ("leadership", "sql"), ("sql", "leadership"), ("python", "negotiation")]


async def test_a_cohort_is_matched_once_at_its_close_exactly_as_reciprocal_match_would(stack, tmp_path):
    org = f"org-{uuid.uuid4().hex[:6]}"
    closes = datetime.now(UTC) + timedelta(seconds=8)
    program = {"org_id": org, **PROGRAM, "matching": "cohort", "registration_closes_at": closes.isoformat()}
    people = [ProfileChanged(**profile(org, f"p{i}", offers=[o], wants=[w], department=f"dept-{i % 3}"), version=1)
              for i, (o, w) in enumerate(SKILLS)]
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["matches.proposed"]) as tap:
        await fe.publish("programs.configured", program)
        for p in people:
            await fe.publish("profiles.changed", p.model_dump(mode="json"))
        await asyncio.sleep(max(0.0, (closes - datetime.now(UTC)).total_seconds() - 1))
        assert of_org(tap.events("matches.proposed"), org) == [], "proposed before registration closed"
        await tap.wait_for(lambda t: of_org(t.events("matches.proposed"), org), what="the cohort's proposals")
        await tap.settle("matches.proposed", quiet=2.0)
        at_close = of_org(tap.events("matches.proposed"), org)

        late = [ProfileChanged(**profile(org, name, offers=[o], wants=[w]), version=1)
                for name, o, w in (("late-a", "design", "excel"), ("late-b", "excel", "design"))]
        for p in late:
            await fe.publish("profiles.changed", p.model_dump(mode="json"))
        await tap.wait_for(lambda t: len(of_org(t.events("matches.proposed"), org)) > len(at_close),
                           what="the late arrivals' proposal")
    lines = [json.dumps({"event_type": "programs.configured", **program})]
    lines += [p.model_dump_json() for p in people]
    path = tmp_path / "cohort.jsonl"
    path.write_text("\n".join(lines) + "\n")
    first = min(datetime.fromisoformat(e["occurred_at"]) for e in at_close)
    offline = run_match(path, now=first.isoformat())
    assert {frozenset((e["person_a"], e["person_b"])) for e in at_close} == {
        frozenset((p["person_a"], p["person_b"])) for p in offline["pairs"]}
    assert sum(e["score"] for e in at_close) == offline["objective"] or abs(
        sum(e["score"] for e in at_close) - offline["objective"]) < 1e-6
    assert first >= closes - timedelta(seconds=1)
    late_pair = of_org(tap.events("matches.proposed"), org)[len(at_close):]
    assert [frozenset((e["person_a"], e["person_b"])) for e in late_pair] == [frozenset(("late-a", "late-b"))]
