import uuid

import httpx
from support import PROGRAM, bearer, of_org, profile

from reciprocal.wire import Frontend, Tap
from shared.contract import ProfileChanged


def changed(org: str, p: dict) -> dict:
    return ProfileChanged(**p, version=1, changed_fields=list(p)).model_dump(mode="json")


async def test_proposes_only_two_way_pairs_and_accepts_when_both_accept(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    leader = profile(org, "leader", offers=["leadership"], wants=["social media"], department="Finance")
    junior = profile(org, "junior", offers=["social media"], wants=["leadership"], department="Marketing",
                     tz="America/New_York", windows=[{"weekday": "tue", "start": "09:00", "end": "12:00"}])
    one_way = profile(org, "taker", offers=["knitting"], wants=["leadership"], department="People")
    topics = ["matches.proposed", "matches.accepted"]
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, topics) as tap:
        await fe.publish("programs.configured", {"org_id": org, **PROGRAM})
        for p in (one_way, leader, junior):
            await fe.publish("profiles.changed", changed(org, p))
        await tap.wait_for(lambda t: of_org(t.events("matches.proposed"), org), what="a proposal")
        await tap.settle("matches.proposed", quiet=1.5)
        proposals = of_org(tap.events("matches.proposed"), org)
        assert len(proposals) == 1
        proposal = proposals[0]
        assert {proposal["person_a"], proposal["person_b"]} == {"leader", "junior"}
        assert proposal["a_teaches_b"] and proposal["b_teaches_a"]
        assert {f["factor"] for f in proposal["explanation"]} >= {"value_a_to_b", "value_b_to_a", "harmonic_mean"}
        for person in ("leader", "junior"):
            await fe.publish("matches.responded", {"org_id": org, "match_id": proposal["match_id"],
                                                   "person_id": person, "decision": "accept"})
        await tap.wait_for(lambda t: of_org(t.events("matches.accepted"), org), what="matches.accepted")
    mine = httpx.get(f"{stack.service_url('matcher')}/people/leader/matches", headers=bearer(stack, org)).json()
    assert [m["status"] for m in mine] == ["accepted"]
