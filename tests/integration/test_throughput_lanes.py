"""The services' two lanes on the real broker and database: a bulk import consumed in batches survives
a kill -9 mid-batch with every submission taking effect once, and an interactive event queued behind a
bulk backlog is handled before that backlog drains.

Each test runs only the service it is about, as a real process (a replica of its own, joining the
service's group), so that it starts in time on a loaded machine."""

import asyncio
import contextlib
import json
import time
import uuid
from collections import defaultdict

import httpx
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient
from support import bearer, of_org, profile

from reciprocal.wire import Frontend, Tap, stamp_envelope
from shared.contract.topics import TOPICS
from shared.settings import ServiceSettings

IMPORT = 400
BACKLOG = 2_000


@contextlib.contextmanager
def replica(infrastructure, name: str):
    instance = f"lanes-{name}"
    infrastructure.start_service(name, instance=instance)
    try:
        infrastructure.wait_ready((instance,), timeout=240)
        yield instance
    finally:
        infrastructure.stop_service(instance)


async def test_a_kill_mid_batch_then_restart_applies_every_submission_once(infrastructure):
    stack = infrastructure
    with replica(stack, "profiles") as instance:
        await kill_mid_batch(stack, instance)


async def kill_mid_batch(stack, instance: str) -> None:
    org = f"org-{uuid.uuid4().hex[:6]}"
    people = [f"{org}-p{i:03}" for i in range(IMPORT)]
    async with Tap(stack.kafka_bootstrap, ["profiles.changed"]) as tap:
        await publish_all(stack.kafka_bootstrap, "profiles.submitted",
                          [profile(org, p, offers=["sql"], wants=["excel"]) for p in people])
        await tap.wait_for(lambda t: len(of_org(t.events("profiles.changed"), org)) >= 1, what="the import started")
        stack.stop_service(instance, kill=True)  # kill -9, most of the import still queued or in a batch
        stack.start_service("profiles", instance=instance)
        stack.wait_ready((instance,), timeout=240)
        await tap.wait_for(lambda t: {e["person_id"] for e in of_org(t.events("profiles.changed"), org)} >= set(people),
                           timeout=180, what="every profile changed")
        await tap.settle("profiles.changed", quiet=1.5)
    ids: dict[str, set[str]] = defaultdict(set)
    for event in of_org(tap.events("profiles.changed"), org):
        assert event["version"] == 1, event["person_id"]
        ids[event["person_id"]].add(event["event_id"])  # the relay may publish one event twice: same id
    assert all(len(v) == 1 for v in ids.values()), {p: v for p, v in ids.items() if len(v) > 1}
    async with AsyncMongoClient(stack.mongo_url) as client:
        ledger = client["reciprocal_profiles"]["processed_events"]
        assert await ledger.count_documents({"org_id": org, "topic": "profiles.submitted"}) == IMPORT
        assert await client["reciprocal_profiles"]["profiles"].count_documents({"org_id": org, "version": 1}) == IMPORT
    record = httpx.get(f"{stack.service_url(instance)}/profiles/{people[-1]}", headers=bearer(stack, org)).json()
    assert record["version"] == 1


async def test_a_response_queued_behind_a_bulk_backlog_is_handled_before_the_backlog_drains(infrastructure):
    with replica(infrastructure, "matcher"):
        await response_behind_backlog(infrastructure)


async def response_behind_backlog(stack) -> None:
    """Once the bulk lane is draining the backlog, a response is published: fewer than one batch of
    the backlog may be handled before it (the batch in flight), not the fetched backlog ahead of it."""
    org = f"org-{uuid.uuid4().hex[:6]}"
    changes = [profile(org, f"{org}-c{i:04}", offers=["sql"], wants=["excel"], program_ids=[f"{org}-unknown"])
               | {"version": 1, "changed_fields": ["offers"], "active": True} for i in range(BACKLOG)]
    async with AsyncMongoClient(stack.mongo_url) as client:
        ledger = client["reciprocal_matcher"]["processed_events"]

        async def handled_changes() -> int:
            return await ledger.count_documents({"org_id": org, "topic": "profiles.changed"})

        await publish_all(stack.kafka_bootstrap, "profiles.changed", changes)
        # The matcher runs in another process and only its ledger says it has begun: no event to await.
        while await handled_changes() == 0:  # noqa: ASYNC110 — cross-process poll of the matcher's ledger
            await asyncio.sleep(0.05)
        before = await handled_changes()
        started = time.monotonic()
        async with Frontend(stack.kafka_bootstrap) as fe:
            response = await fe.publish("matches.responded", {"org_id": org, "match_id": f"m-{org}",
                                                              "person_id": f"{org}-c0000", "decision": "accept"})
        deadline = started + 300
        while not await ledger.find_one({"org_id": org, "event_id": response["event_id"]}):
            assert time.monotonic() < deadline, "the response was never handled"
            await asyncio.sleep(0.05)
        took = time.monotonic() - started
        after = await handled_changes()
        # Drain the backlog while this replica still helps: left behind, it would hold up the next test's
        # matcher (the session's services share this group) for a minute.
        while await handled_changes() < BACKLOG:
            assert time.monotonic() < deadline, "the backlog never drained"
            await asyncio.sleep(0.2)
    print(f"\nmatches.responded handled {took:.2f} s after it was published behind {BACKLOG - before} queued "
          f"profiles.changed; {after - before} of those were handled before it")
    assert after - before < ServiceSettings().batch_max_records, "the response waited behind the bulk backlog"


async def publish_all(bootstrap: str, topic: str, payloads: list[dict]) -> None:
    """Queue many events fast: send them all, then wait for every acknowledgement."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        sent = []
        for payload in payloads:
            event = stamp_envelope(topic, payload)
            sent.append(await producer.send(topic, json.dumps(event).encode(),
                                            key=str(event[TOPICS[topic].key_field]).encode()))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
