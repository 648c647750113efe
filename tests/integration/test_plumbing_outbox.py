"""The outbox relay with the real embedded broker: an event that can never be published is moved to
outbox_dead and the rows after it still go out, in order; transient failures back off."""

import asyncio
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from plumbing_probe import read_topic
from prometheus_client import CollectorRegistry

from shared.messaging import Ingress, create_topics, make_broker, publish_many
from shared.metrics import plumbing_metrics
from shared.outbox import OutboxRelay, Unpublishable
from shared.settings import ServiceSettings
from shared.store import OUTBOX, OUTBOX_DEAD, DeadLetterLog, Store


def row(key: str, value: bytes, **extra: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "topic": extra.pop("topic"), "key": key, "value": value,
            "correlation_id": None, "created_at": datetime.now(UTC), "published": False, **extra}


@pytest.fixture
async def world(infrastructure):
    settings = ServiceSettings(service="probe", kafka_bootstrap=infrastructure.kafka_bootstrap,
                               mongo_url=infrastructure.mongo_url, mongo_db=f"outbox_{uuid.uuid4().hex[:8]}")
    topic = f"plumbing-outbox-{uuid.uuid4().hex[:8]}"
    await create_topics(settings.kafka_bootstrap, 1, [topic])
    store = Store(settings.mongo_url, settings.database)
    await store.ensure_plumbing_indexes()
    registry = CollectorRegistry()
    metrics = plumbing_metrics(registry)
    broker = make_broker(settings, Ingress(settings, DeadLetterLog(store), metrics))
    await broker.start()
    yield settings, topic, store, broker, metrics, registry.get_sample_value
    await broker.stop()
    await store.client.drop_database(store.db.name)
    await store.close()


async def test_an_oversize_event_is_dead_lettered_and_the_rows_after_it_publish(world):
    settings, topic, store, broker, metrics, sample = world
    relay = OutboxRelay(store, lambda docs: publish_many(broker, docs, settings.max_message_bytes),
                        owner="a", metrics=metrics, batch=3)
    rows = [row("k", b'{"n": 1}', topic=topic), row("k", b'"' + b"x" * (1024 * 1024 + 10) + b'"', topic=topic),
            row("k", b'{"n": 3}', topic=topic), row("j", b'{"n": 4}', topic=topic), row("k", b'{"n": 5}', topic=topic)]
    await store.db[OUTBOX].insert_many(rows)

    assert await relay.flush() == 4
    published = await read_topic(settings.kafka_bootstrap, topic)
    assert [(r.key, r.value) for r in published if r.key == b"k"] == [(b"k", b'{"n": 1}'), (b"k", b'{"n": 3}'),
                                                                      (b"k", b'{"n": 5}')]
    assert [r.value for r in published if r.key == b"j"] == [b'{"n": 4}']
    dead = await store.db[OUTBOX_DEAD].find({}).to_list(None)
    assert [(d["event_id"], d["dead_reason"]) for d in dead] == [(rows[1]["event_id"], "too_large")]
    assert await store.db[OUTBOX].count_documents({"published": False}) == 0
    assert sample("reciprocal_outbox_dead_lettered_total", {"topic": topic, "reason": "too_large"}) == 1
    assert await relay.lag() == (0.0, 0)


async def test_the_producer_itself_refuses_what_is_over_its_request_size(world):
    """If the consumers' limit were ever set above the producer's, the broker's client still says why."""
    settings, topic, _store, broker, _metrics, _sample = world
    huge = row("k", b"x" * (settings.kafka_max_request_bytes + 1), topic=topic)
    small = row("k", b"{}", topic=topic)
    outcomes = await publish_many(broker, [huge, small], max_bytes=10 * settings.kafka_max_request_bytes)
    assert isinstance(outcomes[0], Unpublishable) and outcomes[0].reason == "too_large"
    assert "MessageSizeTooLargeError" in outcomes[0].detail and outcomes[1] is None


async def test_transient_failures_back_off_instead_of_looping_and_then_publish(world):
    settings, topic, store, broker, metrics, sample = world
    calls: list[float] = []
    broker_down = True

    async def flaky(docs: list[dict[str, Any]]):
        calls.append(asyncio.get_running_loop().time())
        if broker_down:
            return [ConnectionError("broker unreachable")] * len(docs)
        return await publish_many(broker, docs, settings.max_message_bytes)

    relay = OutboxRelay(store, flaky, owner="a", poll_s=0.1, backoff_max_s=0.8, metrics=metrics)
    await store.db[OUTBOX].insert_many([row("k", b"{}", topic=topic) for _ in range(3)])
    await relay.start()
    try:
        for _ in range(40):  # commits keep kicking the relay; the backoff does not give way
            relay.kick()
            await asyncio.sleep(0.05)
        assert 3 <= len(calls) <= 7, len(calls)  # 0.1, 0.2, 0.4, 0.8 s (+ jitter) in 2 s; not one per kick
        gaps = [b - a for a, b in itertools.pairwise(calls)]
        assert gaps[-1] > gaps[0]
        assert sample("reciprocal_outbox_flush_failures_total") >= 3
        assert await store.db[OUTBOX].count_documents({"published": False}) == 3
        broker_down = False
        for _ in range(60):
            if not await store.db[OUTBOX].count_documents({"published": False}):
                break
            await asyncio.sleep(0.1)
        assert await store.db[OUTBOX].count_documents({"published": False}) == 0
    finally:
        await relay.stop()


async def test_the_lag_is_the_age_of_the_oldest_unpublished_row(world):
    settings, topic, store, broker, metrics, sample = world
    relay = OutboxRelay(store, lambda docs: publish_many(broker, docs, settings.max_message_bytes),
                        owner="a", metrics=metrics)
    old = datetime.now(UTC) - timedelta(seconds=90)
    await store.db[OUTBOX].insert_many([row("k", b"{}", topic=topic, created_at=old),
                                        row("k", b"{}", topic=topic)])
    age, pending = await relay.lag()
    assert 89 <= age < 120 and pending == 2
    assert sample("reciprocal_outbox_lag_seconds") == age and sample("reciprocal_outbox_pending") == 2
