"""Oversize events and a cross-tenant event_id.

- A profile over 1 MiB, and one just under the broker's 1 MiB request limit made of huge strings:
  each gets one clear answer (profiles.changed, profiles.rejected or a dead letter) or is refused by
  the broker at the producer; nothing is wedged (the next profile on the same key flows, no outbox
  holds an unpublishable row, every service stays alive).
- tenant-c reusing tenant-a's event_id is still a new event for tenant-c: the ledger is per tenant.
"""

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from harness import CountingTap, alive, database, new_org, report
from reciprocal.wire import Frontend
from support import PROGRAM, profile

MIB = 1024 * 1024
OVER = int(1.5 * MIB)
JUST_UNDER = MIB - 16 * 1024  # under the 1 MiB default request limit of brokers and producers


def huge_profile(org: str, person_id: str, target: int) -> dict:
    """A profile whose JSON is about `target` bytes, made of a few huge strings."""
    base = profile(org, person_id, offers=["sql"], wants=["excel"])
    chunk = (target - len(json.dumps(base)) - 400) // 3
    return {**base, "display_name": "N" * chunk, "department": "D" * chunk, "interests": ["i" * chunk]}


def envelope(event: dict, topic: str) -> dict:
    return {"event_id": str(uuid.uuid4()), "event_type": topic, "occurred_at": datetime.now(UTC).isoformat(), **event}


async def test_oversize_profiles_get_an_answer_and_wedge_nothing(stack):
    started = time.monotonic()
    org = new_org("big")
    topics = ["profiles.changed", "profiles.rejected", "profiles.submitted.dlq"]
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, max_request_size=4 * MIB)
    outcomes: dict[str, str] = {}
    await producer.start()
    try:
        async with CountingTap(stack.kafka_bootstrap, topics) as tap, Frontend(stack.kafka_bootstrap) as fe:
            for name, target in (("over_1mib", OVER), ("just_under", JUST_UNDER)):
                person = f"{name}-{org}"
                event = envelope(huge_profile(org, person, target), "profiles.submitted")
                value = json.dumps(event).encode()
                try:
                    await producer.send_and_wait("profiles.submitted", value, key=person.encode())
                except KafkaError as exc:  # the broker refused it: the frontend got the answer
                    outcomes[name] = f"refused_by_broker:{type(exc).__name__}"
                # the next profile on the same key must flow
                await fe.publish("profiles.submitted", profile(org, person, offers=["sql"], wants=["excel"],
                                                               display_name="Small"))

                def answered(t: CountingTap) -> bool:
                    small = any(e.get("display_name") == "Small" for e in t.of("profiles.changed", org)
                                if e["person_id"] == person)
                    return small and (name in outcomes or bool(answers(t, event)))

                await tap.wait_for(answered, what=f"{name}: an answer and the next profile", timeout=120)
                outcomes.setdefault(name, "+".join(answers(tap, event)))
            await asyncio.sleep(2)
            unpublished = {svc: await database(stack, svc)["outbox"].count_documents({"published": False})
                           for svc in ("profiles", "matcher", "scheduler", "notifier")}
            await asyncio.sleep(5)  # a row that is merely in flight is gone now; a wedged one stays
            wedged = {svc: n for svc in unpublished
                      if (n := await database(stack, svc)["outbox"].count_documents({"published": False}))
                      and unpublished[svc]}
    finally:
        await producer.stop()
    health = alive(stack)
    report("oversize", started, **{k: v for k, v in outcomes.items()}, wedged_outboxes=sum(wedged.values()),
           alive=sum(health.values()))
    assert all(outcomes.values()), outcomes
    assert not wedged, f"outbox rows that cannot be published: {wedged}"
    assert all(health.values()), health


def answers(tap: CountingTap, event: dict) -> list[str]:
    found = []
    if any(e.get("rejected_event_id") == event["event_id"] for e in tap.events("profiles.rejected")):
        found.append("rejected")
    if any(r.key == event["person_id"].encode() and event["event_id"].encode() in r.value[:400]
           for r in tap.raw_by_topic["profiles.submitted.dlq"]):
        found.append("dead_lettered")
    if any(e.get("person_id") == event["person_id"] and e.get("display_name", "").startswith("NNNN")
           for e in tap.events("profiles.changed")):
        found.append("changed")
    return found


async def test_another_tenant_reusing_an_event_id_still_takes_effect(stack):
    started = time.monotonic()
    tenant_a, tenant_c = new_org("tenant-a"), new_org("tenant-c")
    program_event = str(uuid.uuid4())
    profile_events = [str(uuid.uuid4()), str(uuid.uuid4())]
    topics = ["profiles.changed", "matches.proposed"]
    async with Frontend(stack.kafka_bootstrap) as fe, CountingTap(stack.kafka_bootstrap, topics) as tap:
        for org in (tenant_a, tenant_c):  # the same event ids, first in tenant-a, then in tenant-c
            people = [profile(org, "ana", offers=["leadership"], wants=["python"]),
                      profile(org, "raj", offers=["python"], wants=["leadership"], department="Marketing")]
            for event_id, person in zip(profile_events, people):
                await fe.publish("profiles.submitted", {**person, "event_id": event_id})
            await fe.publish("programs.configured", {"org_id": org, **PROGRAM, "event_id": program_event})
        try:
            await tap.wait_for(lambda t: all(len(t.of("profiles.changed", o)) == 2 and t.of("matches.proposed", o)
                                             for o in (tenant_a, tenant_c)),
                               what="both tenants' profiles and proposals", timeout=60)
        except TimeoutError:
            pass
    counts = {f"{stage}_{o[:8]}": len(tap.of(topic, o)) for o in (tenant_a, tenant_c)
              for stage, topic in (("changed", "profiles.changed"), ("proposed", "matches.proposed"))}
    lost = (2 - counts["changed_tenant-c"]) + (1 - min(counts["proposed_tenant-c"], 1))
    report("cross-tenant-event-id", started, **counts, lost=lost)
    assert counts["changed_tenant-a"] == 2 and counts["proposed_tenant-a"] == 1
    assert counts["changed_tenant-c"] == 2, "tenant-c's profiles were taken for tenant-a's duplicates"
    assert counts["proposed_tenant-c"] == 1, "tenant-c's program was taken for tenant-a's duplicate"
