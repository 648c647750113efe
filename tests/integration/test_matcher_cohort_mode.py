"""A cohort program on the running stack: nobody is proposed while registration is open; at the close,
by the service clock, the optimiser's pairs are proposed, and they equal `reciprocal match` on the
same profiles; a person who registers after the close is matched as in continuous mode."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from support import PROGRAM, bearer, of_org, profile

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


async def test_an_admin_previews_a_cohort_over_http_and_approves_exactly_its_pairs(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    program = {"org_id": org, **PROGRAM, "matching": "cohort"}  # no close: the cohort waits for the admin
    people = [ProfileChanged(**profile(org, f"p{i}", offers=[o], wants=[w], department=f"dept-{i % 3}"), version=1)
              for i, (o, w) in enumerate(SKILLS[:6])]
    matcher = stack.service_url("matcher")
    admin = bearer(stack, org)
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["matches.proposed"]) as tap, \
            httpx.AsyncClient(base_url=matcher, timeout=30) as http:
        await fe.publish("programs.configured", program)
        for p in people:
            await fe.publish("profiles.changed", p.model_dump(mode="json"))
        previews = f"/programs/{PROGRAM['program_id']}/cohort-previews"
        for _ in range(100):  # until the matcher has everyone
            preview = (await http.post(previews, headers=admin)).json()
            if preview.get("participants") == len(people):
                break
            await asyncio.sleep(0.2)
        assert preview["status"] == "pending" and preview["pairs"] and preview["coverage"] == 1.0
        assert {"objective", "upper_bound", "unmatched", "department_matrix", "mode"} <= set(preview)
        assert all(p["explanation"] for p in preview["pairs"])
        participant = bearer(stack, org, "participant", "p0")
        assert (await http.post(previews, headers=participant)).status_code == 403
        assert (await http.get(f"{previews}/latest", headers=admin)).json()["preview_id"] == preview["preview_id"]

        await fe.publish("profiles.changed", ProfileChanged(**profile(org, "p-new", offers=["sql"], wants=["python"]),
                                                            version=1).model_dump(mode="json"))
        for _ in range(100):  # until the matcher has the newcomer (a newer preview counts them)
            fresh = (await http.post(previews, headers=admin)).json()
            if fresh["participants"] == len(people) + 1:
                break
            await asyncio.sleep(0.2)
        stale = await http.post(f"{previews}/{preview['preview_id']}/approve", headers=admin)
        assert stale.status_code == 409 and "1 joined" in stale.json()["detail"]
        assert of_org(tap.events("matches.proposed"), org) == []

        approved = await http.post(f"{previews}/{fresh['preview_id']}/approve", headers=admin)
        assert approved.status_code == 200 and approved.json()["status"] == "approved"
        await tap.wait_for(lambda t: len(of_org(t.events("matches.proposed"), org)) == len(fresh["pairs"]),
                           what="the approved pairs")
        again = await http.post(f"{previews}/{fresh['preview_id']}/approve", headers=admin)
        assert again.json()["match_ids"] == approved.json()["match_ids"]
        await tap.settle("matches.proposed", quiet=1.5)
    got = {frozenset((e["person_a"], e["person_b"])) for e in of_org(tap.events("matches.proposed"), org)}
    assert got == {frozenset((p["person_a"], p["person_b"])) for p in fresh["pairs"]}
