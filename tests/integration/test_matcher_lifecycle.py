"""The matcher's proposal lifecycle on the real stack: open pairs are never proposed again,
withdrawals and declines rematch, proposals expire, and replays change nothing."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from pymongo import AsyncMongoClient
from support import PROGRAM, bearer, of_org, profile

from reciprocal.wire import Frontend, Tap
from shared.contract import ProfileChanged

TOPICS = ["matches.proposed", "matches.accepted", "matches.declined", "matches.withdrawn"]


def changed(p: dict, **changes: object) -> dict:
    fields = {**p, **changes}
    return ProfileChanged(**fields, version=1, changed_fields=list(changes) or list(fields)).model_dump(mode="json")


def person(org: str, pid: str, offers: str, wants: str, **extra: object) -> dict:
    extra.setdefault("department", f"dept-{pid}")
    return profile(org, pid, offers=[offers], wants=[wants], **extra)


def pairs(tap: Tap, topic: str, org: str) -> list[frozenset[str]]:
    return [frozenset((e["person_a"], e["person_b"])) for e in of_org(tap.events(topic), org)]


async def processed(stack, *events: dict, timeout: float = 30.0) -> None:
    """Wait until the matcher's processed-event ledger holds these events (they had all their effects)."""
    client = AsyncMongoClient(stack.mongo_url)
    try:
        ledger = client["reciprocal_matcher"]["processed_events"]
        ids = [str(e["event_id"]) for e in events]
        for _ in range(int(timeout / 0.2)):
            if await ledger.count_documents({"consumer": "reciprocal-matcher", "event_id": {"$in": ids}}) == len(ids):
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"matcher did not process {ids}")
    finally:
        await client.close()


async def start(stack, fe: Frontend, org: str, *people: dict) -> list[dict]:
    """Configure the program, then let the people arrive one by one (each processed before the next:
    two arrivals processed concurrently on different partitions may not see each other)."""
    sent = [await fe.publish("programs.configured", {"org_id": org, **PROGRAM})]
    await processed(stack, sent[0])
    for p in people:
        sent.append(await fe.publish("profiles.changed", changed(p)))
        await processed(stack, sent[-1])
    return sent


async def test_open_pairs_are_never_proposed_again(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    a = person(org, "a", "leadership", "social media", max_partners=2)
    b = person(org, "b", "social media", "leadership", max_partners=2)
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, TOPICS) as tap:
        sent = await start(stack, fe, org, a, b)
        await processed(stack, *sent)
        await tap.settle("matches.proposed", quiet=1.0)
        assert pairs(tap, "matches.proposed", org) == [frozenset("ab")]  # two free slots, one partner
        [proposal] = of_org(tap.events("matches.proposed"), org)
        for who in "ab":
            await fe.publish("matches.responded", {"org_id": org, "match_id": proposal["match_id"],
                                                   "person_id": who, "decision": "accept"})
        await tap.wait_for(lambda t: of_org(t.events("matches.accepted"), org), what="matches.accepted")
        later = [await fe.publish("profiles.changed", changed(b, interests=["jazz"], max_partners=3)),
                 await fe.publish("programs.match-requested", {"org_id": org, "program_id": "pilot"})]
        await processed(stack, *later)
        await tap.settle("matches.proposed", quiet=1.0)
        assert pairs(tap, "matches.proposed", org) == [frozenset("ab")]
    mine = httpx.get(f"{stack.service_url('matcher')}/people/b/matches", headers=bearer(stack, org)).json()
    assert [(m["status"], m["accepted_by"]) for m in mine] == [("accepted", ["a", "b"])]


async def test_withdrawal_gives_the_reason_and_rematches_the_partner(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    x = person(org, "x", "leadership", "social media")
    y = person(org, "y", "social media", "leadership")
    z = person(org, "z", "social media", "leadership")
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, TOPICS) as tap:
        await processed(stack, *await start(stack, fe, org, x, y))
        await processed(stack, await fe.publish("profiles.changed", changed(z)))  # waits: x is taken
        await tap.settle("matches.proposed", quiet=1.0)
        assert pairs(tap, "matches.proposed", org) == [frozenset("xy")]
        await fe.publish("profiles.changed", changed(y, languages=["fr"]))
        await tap.wait_for(lambda t: len(pairs(t, "matches.proposed", org)) == 2, what="x rematched")
        # the withdrawal and the new proposal go to different topics: either may be read first
        await tap.wait_for(lambda t: of_org(t.events("matches.withdrawn"), org), what="the withdrawal")
        [withdrawn] = of_org(tap.events("matches.withdrawn"), org)
        assert withdrawn["reason"].startswith("no_shared_language")
        assert pairs(tap, "matches.proposed", org) == [frozenset("xy"), frozenset("xz")]


async def test_declines_rematch_both_people_and_the_pair_never_returns(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    a, d = (person(org, p, "leadership", "social media") for p in "ad")
    b, c = (person(org, p, "social media", "leadership") for p in "bc")
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, TOPICS) as tap:
        await processed(stack, *await start(stack, fe, org, a, b))
        for p in (c, d):  # one after the other: see the report on concurrent arrivals
            await processed(stack, await fe.publish("profiles.changed", changed(p)))
        await tap.wait_for(lambda t: len(pairs(t, "matches.proposed", org)) == 2, what="two proposals")
        proposals = {frozenset((e["person_a"], e["person_b"])): e["match_id"]
                     for e in of_org(tap.events("matches.proposed"), org)}
        assert set(proposals) == {frozenset("ab"), frozenset("cd")}
        await processed(stack, await fe.publish("matches.responded", {
            "org_id": org, "match_id": proposals[frozenset("cd")], "person_id": "c", "decision": "decline"}))
        await fe.publish("matches.responded", {"org_id": org, "match_id": proposals[frozenset("ab")],
                                               "person_id": "b", "decision": "decline"})
        await tap.wait_for(lambda t: len(pairs(t, "matches.proposed", org)) == 4, what="both rematched")
        assert set(pairs(tap, "matches.proposed", org)[2:]) == {frozenset("ac"), frozenset("bd")}
        more = [await fe.publish("profiles.changed", changed(p, max_partners=3, interests=["jazz"]))
                for p in (a, b, c, d)]
        more.append(await fe.publish("programs.match-requested", {"org_id": org, "program_id": "pilot"}))
        await processed(stack, *more)
        await tap.settle("matches.proposed", quiet=1.0)
        proposed = pairs(tap, "matches.proposed", org)
        assert proposed.count(frozenset("ab")) == 1 and proposed.count(frozenset("cd")) == 1
        assert len(proposed) == len(set(proposed))


async def test_replayed_events_change_nothing(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    people = [person(org, "a", "leadership", "social media", max_partners=2),
              person(org, "b", "social media", "leadership"), person(org, "c", "social media", "leadership")]
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, TOPICS) as tap:
        first = await start(stack, fe, org, *people)
        await processed(stack, *first)
        await tap.settle("matches.proposed", quiet=1.0)
        ids = sorted(e["match_id"] for e in of_org(tap.events("matches.proposed"), org))
        assert len(ids) == 2
        for event in first:  # the very same records again (redelivery) ...
            topic, key = event["event_type"], event.get("person_id") or event["program_id"]
            await fe.publish_raw(topic, json.dumps(event).encode(), key=key.encode())
        resent = [await fe.publish("profiles.changed", changed(p)) for p in people]  # ... and as new events
        resent.append(await fe.publish("programs.configured", {"org_id": org, **PROGRAM}))
        await processed(stack, *resent)
        await tap.settle("matches.proposed", quiet=1.5)
        assert sorted(e["match_id"] for e in of_org(tap.events("matches.proposed"), org)) == ids


async def test_proposals_expire_and_both_people_are_rematched(stack):
    # The session's stack looks for expired proposals every second (RECIPROCAL_EXPIRY_POLL_S, tests/conftest.py).
    org = f"org-{uuid.uuid4().hex[:6]}"
    a = person(org, "a", "leadership", "social media")
    b = person(org, "b", "social media", "leadership")
    c = person(org, "c", "social media", "leadership")
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, TOPICS) as tap:
        await processed(stack, *await start(stack, fe, org, a, b))
        await processed(stack, await fe.publish("profiles.changed", changed(c)))
        await tap.settle("matches.proposed", quiet=1.0)
        [proposal] = of_org(tap.events("matches.proposed"), org)
        expires = datetime.fromisoformat(proposal["expires_at"])
        assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)  # proposal_ttl_days
        client = AsyncMongoClient(stack.mongo_url)  # let the time pass
        try:
            await client["reciprocal_matcher"]["matches"].update_one(
                {"_id": proposal["match_id"]}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}})
        finally:
            await client.close()
        await tap.wait_for(lambda t: len(pairs(t, "matches.proposed", org)) == 2, what="a rematched")
        [withdrawn] = of_org(tap.events("matches.withdrawn"), org)
        assert withdrawn["match_id"] == proposal["match_id"] and withdrawn["reason"] == "proposal expired"
        assert pairs(tap, "matches.proposed", org) == [frozenset("ab"), frozenset("ac")]
    mine = httpx.get(f"{stack.service_url('matcher')}/people/b/matches", headers=bearer(stack, org)).json()
    assert [m["status"] for m in mine] == ["expired"]


async def test_an_ended_partnership_rematches_both_and_the_pair_never_returns(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    a, d = (person(org, p, "leadership", "social media") for p in "ad")
    b, c = (person(org, p, "social media", "leadership") for p in "bc")
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, TOPICS) as tap:
        await processed(stack, *await start(stack, fe, org, a, b, c, d))
        await tap.wait_for(lambda t: len(pairs(t, "matches.proposed", org)) == 2, what="two proposals")
        proposals = {frozenset((e["person_a"], e["person_b"])): e["match_id"]
                     for e in of_org(tap.events("matches.proposed"), org)}
        assert set(proposals) == {frozenset("ab"), frozenset("cd")}
        for pair, mid in proposals.items():
            for who in sorted(pair):
                await fe.publish("matches.responded", {"org_id": org, "match_id": mid, "person_id": who,
                                                       "decision": "accept"})
        await tap.wait_for(lambda t: len(of_org(t.events("matches.accepted"), org)) == 2, what="both accepted")
        ab, cd = proposals[frozenset("ab")], proposals[frozenset("cd")]
        stranger = await fe.publish("partnerships.end-requested", {"org_id": org, "match_id": ab, "person_id": "c",
                                                                  "reason": "not_a_fit"})
        await processed(stack, stranger)
        assert of_org(tap.events("matches.withdrawn"), org) == []  # c is not one of the pair: ignored
        # c and d end first: a and b are still taken, so nobody can be proposed yet ...
        await processed(stack, await fe.publish("partnerships.end-requested", {
            "org_id": org, "match_id": cd, "person_id": "d", "reason": "goals_met"}))
        end = {"org_id": org, "match_id": ab, "person_id": "a", "reason": "not_a_fit"}
        await fe.publish("partnerships.end-requested", end)  # ... then a and b end: all four are free
        await tap.wait_for(lambda t: len(pairs(t, "matches.proposed", org)) == 4, what="both pairs rematched")
        await tap.wait_for(lambda t: len(of_org(t.events("matches.withdrawn"), org)) == 2, what="both ends")
        ended = {e["match_id"]: e for e in of_org(tap.events("matches.withdrawn"), org)}
        assert {mid: (e["reason"], e["partnership_ended"]) for mid, e in ended.items()} == {
            cd: ("goals_met", True), ab: ("not_a_fit", True)}
        assert set(pairs(tap, "matches.proposed", org)[2:]) == {frozenset("ac"), frozenset("bd")}
        again = [await fe.publish("partnerships.end-requested", end)]  # a new end of an ended match: nothing
        again += [await fe.publish("profiles.changed", changed(p, max_partners=3, interests=["jazz"]))
                  for p in (a, b, c, d)]
        again.append(await fe.publish("programs.match-requested", {"org_id": org, "program_id": "pilot"}))
        await processed(stack, *again)
        await tap.settle("matches.proposed", quiet=1.0)
        proposed = pairs(tap, "matches.proposed", org)
        assert proposed.count(frozenset("ab")) == 1 and proposed.count(frozenset("cd")) == 1
        assert len(proposed) == len(set(proposed))
        assert len(of_org(tap.events("matches.withdrawn"), org)) == 2
    mine = httpx.get(f"{stack.service_url('matcher')}/people/a/matches", headers=bearer(stack, org)).json()
    assert {m["match_id"]: (m["status"], m["reason"]) for m in mine}[ab] == ("ended", "not_a_fit")
