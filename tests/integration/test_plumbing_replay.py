"""The real profiles service, replayed from offset 0 under another consumer group, publishes nothing
new: no second profiles.changed and not one new dead letter, however much poison the topic holds; and
its record of the dead letters it sent does not change either."""

import asyncio
import json
import uuid

import httpx
from pymongo import AsyncMongoClient
from support import of_org, profile

from reciprocal.embedded import EmbeddedStack
from reciprocal.wire import Frontend, Tap

CONSUMED = ["programs.configured", "profiles.submitted", "profiles.withdrawn"]


def received(stack: EmbeddedStack) -> float:
    metrics = httpx.get(f"{stack.service_url('profiles')}/metrics").text
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith("faststream_received_messages_total{"))


async def test_a_replay_under_a_new_consumer_group_adds_no_dead_letters(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    key = f"{org}-poison".encode()
    oversize = json.dumps(profile(org, f"{org}-big", offers=["sql"], wants=["excel"]) | {"interests": ["x" * 600_000]})
    async with Frontend(stack.kafka_bootstrap) as fe, \
            Tap(stack.kafka_bootstrap, ["profiles.submitted.dlq", "profiles.changed"]) as tap:
        await fe.publish_raw("profiles.submitted", b"not json at all", key=key)
        await fe.publish_raw("profiles.submitted", json.dumps({"org_id": org}).encode(), key=key)
        await fe.publish_raw("profiles.submitted", oversize.encode(), key=key)
        await fe.publish("profiles.submitted", profile(org, f"{org}-ok", offers=["sql"], wants=["excel"]))

        def mine(t: Tap) -> list:
            return [r for r in t.records if r.topic == "profiles.submitted.dlq" and r.key == key]

        await tap.wait_for(lambda t: len(mine(t)) == 3 and of_org(t.events("profiles.changed"), org),
                           what="three dead letters and the valid profile")
        assert sorted(dict(r.headers)["dlq-error-type"].decode() for r in mine(tap)) == [
            "not_json", "schema_invalid", "too_large"]
        dead_before = len(await tap.settle("profiles.submitted.dlq", quiet=1.5))
        changed_before = len(await tap.settle("profiles.changed", quiet=0.5))

        everything = await count_records(stack, CONSUMED)
        log_before = await dead_letter_log(stack)
        stack.restart_service("profiles", kill=False, RECIPROCAL_CONSUMER_GROUP=f"replay-{org}")
        try:
            for _ in range(600):
                if received(stack) >= everything:
                    break
                await asyncio.sleep(0.1)
            assert received(stack) >= everything, "the replay did not read every topic from offset 0"
            await asyncio.sleep(2)
            assert len(tap.events("profiles.submitted.dlq")) == dead_before, "a replay dead-lettered again"
            assert len(tap.events("profiles.changed")) == changed_before, "a replay published again"
            assert await dead_letter_log(stack) == log_before, "a replay rewrote the dead-letter log"
        finally:
            stack.restart_service("profiles", kill=False)


async def count_records(stack: EmbeddedStack, topics: list[str]) -> int:
    async with Tap(stack.kafka_bootstrap, topics) as tap:
        await tap.wait_for(lambda t: len(t.records) > 0, what="records")
        await asyncio.sleep(2)
        return len(tap.records)


async def dead_letter_log(stack: EmbeddedStack) -> list[dict]:
    async with AsyncMongoClient(stack.mongo_url_of("profiles")) as client:
        return await client["reciprocal_profiles"]["dead_letters"].find({}).sort("_id").to_list(None)
