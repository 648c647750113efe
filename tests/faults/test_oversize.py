"""Oversize events: a profile over 1 MiB, and one just under the 1 MiB request limit made of huge
strings. Each gets one clear answer (profiles.changed, profiles.rejected or a dead letter) or is
refused by the broker at the producer; nothing is wedged (the next profile on the same key flows, no
outbox holds an unpublishable row, every service stays alive). It runs on the module's own stack:
a wedged outbox must not spoil the session's stack for the tests after it."""

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from harness import CountingTap, alive, database, new_org, report
from support import profile

from reciprocal.wire import Frontend

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


async def test_oversize_profiles_get_an_answer_and_wedge_nothing(isolated_stack):
    stack = isolated_stack
    started = time.monotonic()
    org = new_org("big")
    topics = ["profiles.changed", "profiles.rejected", "profiles.submitted.dlq"]
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, max_request_size=4 * MIB)
    outcomes: dict[str, str] = {}
    flowed: dict[str, bool] = {}
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

                def answered(t: CountingTap, person: str = person, name: str = name, event: dict = event) -> bool:
                    small = any(e.get("display_name") == "Small" for e in t.of("profiles.changed", org)
                                if e["person_id"] == person)
                    return small and (name in outcomes or bool(answers(t, event)))

                try:
                    await tap.wait_for(answered, what=f"{name}: an answer and the next profile", timeout=30)
                except TimeoutError:
                    pass  # counted below: no answer, or the next profile on its key is stuck
                outcomes.setdefault(name, "+".join(answers(tap, event)) or "no_answer")
                flowed[name] = any(e.get("display_name") == "Small" for e in tap.of("profiles.changed", org)
                                   if e["person_id"] == person)
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
    report("oversize", started, **outcomes, next_profile_flowed=sum(flowed.values()),
           wedged_outbox_rows=sum(wedged.values()), alive=sum(health.values()))
    assert "no_answer" not in outcomes.values(), outcomes
    assert all(flowed.values()), f"the next profile on the same key is stuck: {flowed}"
    assert not wedged, f"outbox rows that cannot be published: {wedged}"
    assert all(health.values()), health


def omitted_value(record) -> bool:
    """A dead letter too large even for the DLQ names its original's place instead of copying it."""
    return not record.value and any(k == "dlq-value-omitted-bytes" for k, _ in record.headers or ())


def answers(tap: CountingTap, event: dict) -> list[str]:
    found = []
    if any(e.get("rejected_event_id") == event["event_id"] for e in tap.events("profiles.rejected")):
        found.append("rejected")
    if any(r.key == event["person_id"].encode()
           and (event["event_id"].encode() in r.value[:400] or omitted_value(r))
           for r in tap.raw_by_topic["profiles.submitted.dlq"]):
        found.append("dead_lettered")
    if any(e.get("person_id") == event["person_id"] and e.get("display_name", "").startswith("NNNN")
           for e in tap.events("profiles.changed")):
        found.append("changed")
    return found
