"""Poison on every ingress topic (not JSON, not an object, the wrong schema) goes to `<topic>.dlq`,
once per consuming group, after a bounded number of attempts, and a valid message sent after it on
the same partition (the same key) still takes effect."""

import asyncio
import json
import time
import uuid

import httpx

from harness import FULL, INGRESS, CountingTap, consumers_of, dead_letters, new_org, report
from reciprocal.wire import Frontend
from support import PROGRAM, bearer, profile

MAX_ATTEMPTS = 5  # RECIPROCAL_MAX_ATTEMPTS default: the bound on tries before a dead letter


def poisons(org: str, valid: dict) -> list[bytes]:
    """Bad versions of a valid event: garbage, JSON that is not an object, and schema breaks."""
    required = [k for k in valid if k not in ("org_id", "event_type")][:1] or ["org_id"]
    broken = [
        b"\x00\xffnot json at all " + org.encode(),
        json.dumps([org, 1, 2]).encode(),
        json.dumps({**{k: v for k, v in valid.items() if k not in required}, "org_id": org}).encode(),
    ]
    if FULL:
        broken += [
            json.dumps(org).encode(),
            b'{"org_id": "' + org.encode() + b'", ',  # truncated
            json.dumps({**valid, "org_id": ""}).encode(),
            json.dumps({**valid, "event_id": "not-a-uuid", "org_id": org}).encode(),
            json.dumps({**valid, "occurred_at": "yesterday", "org_id": org}).encode(),
            json.dumps({**valid, "event_type": "something.else", "org_id": org}).encode(),
            json.dumps({k: [v] for k, v in valid.items()} | {"org_id": org}).encode(),
        ]
    return broken


async def cohort_report(stack, org: str, program: str) -> dict:
    url = f"{stack.service_url('matcher')}/programs/{program}/cohort-report"
    for _ in range(300):
        answer = httpx.get(url, headers=bearer(stack, org), timeout=5)
        if answer.status_code == 200:
            return answer.json()
        await asyncio.sleep(0.2)
    raise TimeoutError("no cohort report")


async def test_poison_on_every_ingress_topic_is_dead_lettered_and_the_partition_flows(stack):
    started = time.monotonic()
    org = new_org("poison")
    program = f"prog-{org}"
    topics = [*INGRESS, "profiles.changed", "profiles.rejected", "matches.proposed", "matches.declined",
              *(f"{t}.dlq" for t in INGRESS)]
    ana = profile(org, f"ana-{org}", offers=["leadership"], wants=["python"], program_ids=[program])
    raj = profile(org, f"raj-{org}", offers=["python"], wants=["leadership"], program_ids=[program],
                  department="Marketing")
    sent: dict[str, tuple[bytes, list[bytes]]] = {}

    async def poison_then(fe: Frontend, topic: str, key: str, valid: dict) -> dict:
        bad = poisons(org, valid)
        for value in bad:
            await fe.publish_raw(topic, value, key=key.encode())
        sent[topic] = (key.encode(), bad)
        return await fe.publish(topic, valid)

    async with Frontend(stack.kafka_bootstrap) as fe, CountingTap(stack.kafka_bootstrap, topics) as tap:
        # profiles.submitted: the person's profile, behind poison with the person's key
        await poison_then(fe, "profiles.submitted", ana["person_id"], ana)
        await fe.publish("profiles.submitted", raj)
        await tap.wait_for(lambda t: len(t.of("profiles.changed", org)) == 2, what="both profiles", timeout=90)
        # programs.configured: the program arrives after its people, behind poison; the pair is proposed
        await poison_then(fe, "programs.configured", program, {"org_id": org, **PROGRAM, "program_id": program})
        await tap.wait_for(lambda t: t.of("matches.proposed", org), what="the proposal", timeout=90)
        match = tap.of("matches.proposed", org)[0]
        # programs.match-requested: a cohort run, behind poison with the program's key
        run = await poison_then(fe, "programs.match-requested", program, {"org_id": org, "program_id": program})
        # matches.responded: a decline, behind poison with the match's key
        await poison_then(fe, "matches.responded", match["match_id"],
                          {"org_id": org, "match_id": match["match_id"], "person_id": ana["person_id"],
                           "decision": "decline"})
        await tap.wait_for(lambda t: t.of("matches.declined", org), what="the decline", timeout=90)
        # profiles.withdrawn: the withdrawal, behind poison with the person's key
        await poison_then(fe, "profiles.withdrawn", raj["person_id"], {"org_id": org, "person_id": raj["person_id"]})
        await tap.wait_for(lambda t: any(not e["active"] for e in t.of("profiles.changed", org)),
                           what="the withdrawal", timeout=90)

        def expected_dead_letters() -> int:
            return sum(len(bad) * len(consumers_of(topic)) for topic, (_, bad) in sent.items())

        def dead() -> list:
            return [r for topic, (key, _) in sent.items() for r in dead_letters(tap, topic, key)]

        await tap.wait_for(lambda t: len(dead()) >= expected_dead_letters(), what="every dead letter", timeout=90)
        cohort = await cohort_report(stack, org, program)

    lost = 0
    for topic, (key, bad) in sent.items():
        records = dead_letters(tap, topic, key)
        groups = {f"reciprocal-{svc}" for svc in consumers_of(topic)}
        for value in bad:
            copies = [r for r in records if r.value == value]
            lost += len(groups) - len({dict(r.headers)["dlq-consumer-group"].decode() for r in copies})
            for r in copies:
                headers = dict(r.headers)
                assert headers["dlq-error-type"] in (b"not_json", b"schema_invalid"), headers
                assert 1 <= int(headers["dlq-attempts"]) <= MAX_ATTEMPTS
                assert headers["dlq-original-topic"] == topic.encode()
    extra = len(dead()) - expected_dead_letters()
    report("poison", started, topics=len(sent), poison=sum(len(b) for _, b in sent.values()),
           dead_letters=len(dead()), expected=expected_dead_letters(), lost=lost, dup=max(extra, 0),
           valid_after=5, valid_effects=5)
    assert lost == 0 and extra == 0
    assert cohort["run_id"] == str(run["event_id"])
    assert uuid.UUID(cohort["run_id"])
