"""Batch consumption through the real runtime: a batch handler gets the records of a poll in one unit
of work; a poison record is dead-lettered on its own and the rest of its batch takes effect once, in
order; a batch that fails is retried one record at a time, so only the bad record is dead-lettered."""

import math
import uuid
from collections import Counter

from plumbing_probe import Probe, eventually, headers_of, read_topic
from support import QueryLog

from shared.contract import ProfileWithdrawn
from shared.contract.topics import dlq_topic
from shared.store import IN_CHUNK, LEDGER, OUTBOX, Store, Tx, UnitOfWork

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_a_poison_record_is_dead_lettered_alone_and_the_rest_of_its_batch_takes_effect_once_in_order(
    infrastructure,
):
    probe = Probe(infrastructure, batched=True)
    await probe.create_topics()
    first = probe.event("k01")
    # One key, one partition: queued before the consumer starts, so they arrive as one batch.
    await probe.publish(
        (b"k", first), (b"k", probe.event("k02")), (b"k", b"this is not json"), (b"k", probe.event("k03")),
        (b"k", first),  # a redelivery inside the same batch: one effect
        (b"k", b'{"org_id": "probe-org"}'),  # no item: fails its schema
        (b"k", probe.event("k04")), (b"k", probe.event("k05", echo=True)),
    )
    async with probe.running() as (app, _):
        await eventually(lambda: _has(probe, app, "k05"), what="the last record of the batch")
        await probe.publish((b"k", first), (b"k", probe.event("k06", echo=True)),  # a later redelivery: no effect
                            headers=[("traceparent", TRACEPARENT.encode())])
        await eventually(lambda: _has(probe, app, "k06"), what="the next batch")
        assert await probe.effects_in_order(app) == ["k01", "k02", "k03", "k04", "k05", "k06"]
    assert max(len(b) for b in probe.batches) >= 5, probe.batches  # consumed as a batch, not one by one
    dead = await read_topic(infrastructure.kafka_bootstrap, dlq_topic(probe.topic))
    assert Counter(headers_of(r)["dlq-error-type"] for r in dead) == {"not_json": 1, "schema_invalid": 1}
    not_json = next(r for r in dead if headers_of(r)["dlq-error-type"] == "not_json")
    assert not_json.value == b"this is not json" and headers_of(not_json)["dlq-original-offset"] == "2"
    assert headers_of(not_json)["dlq-attempts"] == "1"
    echoes = await read_topic(infrastructure.kafka_bootstrap, probe.echo_model.topic(), quiet=0.5)
    assert [(r.key, "traceparent" in headers_of(r)) for r in echoes] == [(b"k05", False), (b"k06", True)]


async def test_a_batch_that_fails_is_retried_one_by_one_so_only_the_bad_record_is_dead_lettered(infrastructure):
    probe = Probe(infrastructure, batched=True, broken={"b3"})
    await probe.create_topics()
    await probe.publish(*[(b"b", probe.event(f"b{i}", echo=True)) for i in range(1, 6)])
    await probe.publish((b"b", probe.event("b6", echo=True)), headers=[("traceparent", TRACEPARENT.encode())])
    async with probe.running() as (app, _):
        await eventually(lambda: _has(probe, app, "b6"), what="the records after the bad one")
        assert await probe.effects_in_order(app) == ["b1", "b2", "b4", "b5", "b6"]
    dead = await read_topic(infrastructure.kafka_bootstrap, dlq_topic(probe.topic))
    assert [(r.key, headers_of(r)["dlq-error-type"], headers_of(r)["dlq-attempts"]) for r in dead] == [
        (b"b", "RuntimeError", "2")]
    assert probe.handled.count("b3") == 1 + 2  # in the failed batch, then its own two attempts
    echoes = await read_topic(infrastructure.kafka_bootstrap, probe.echo_model.topic(), quiet=0.5)
    assert sorted(r.key for r in echoes) == [b"b1", b"b2", b"b4", b"b5", b"b6"]
    traced = [r.key for r in echoes if "traceparent" in headers_of(r)]
    assert traced == [b"b6"], "each caused event continues its own cause's trace, and only that one"


async def _has(probe: Probe, app, item: str) -> bool:
    return item in await probe.effects(app)


async def test_a_batch_costs_one_ledger_write_and_one_outbox_write(infrastructure):
    """A fresh batch sends no ledger read: the ledger's unique key refuses an event applied before. A batch
    that meets one runs again after reading the ledger (one read per IN_CHUNK events: SecantusDB's `$in`
    is quadratic in the list's length, see shared.store.find_in), applies only what is new, and the
    batches after it read first for a while (a replay brings many repeats)."""
    commands = QueryLog()
    store = Store(infrastructure.mongo_url, f"batch_{uuid.uuid4().hex[:8]}", event_listeners=[commands])
    try:
        await store.ensure_plumbing_indexes()
        uow = UnitOfWork(store, "reciprocal-probe")
        await uow.detect_legacy_ledger()
        seen = ProfileWithdrawn(org_id="tenant-a", person_id="p0")
        await uow.run(seen, lambda tx: _noop())

        async def work(tx: Tx, fresh: list) -> int:
            for event in tx.each(fresh):
                tx.emit(event.caused(ProfileWithdrawn, person_id=event.person_id))
            return len(fresh)

        first = [ProfileWithdrawn(org_id="tenant-a", person_id=f"p{i}") for i in range(1, 30)]
        first.append(first[0])  # a repeat inside the batch
        commands.names.clear()
        assert await uow.run_batch(first, work) == 29
        assert Counter(n for n in commands.names if n in ("find", "insert")) == {"insert": 2}, "no ledger read"

        events = [seen, *first, *(ProfileWithdrawn(org_id="tenant-a", person_id=f"q{i}") for i in range(20))]
        commands.names.clear()
        assert await uow.run_batch(events, work) == 20, "only the new ones take effect"
        reads = math.ceil(len({e.event_id for e in events}) / IN_CHUNK)
        assert reads == 2
        # the refused attempt's ledger insert, then the reads, the ledger insert and the outbox insert
        assert Counter(n for n in commands.names if n in ("find", "insert")) == {"find": reads, "insert": 3}
        assert await store.db[LEDGER].count_documents({}) == 50
        assert await store.db[OUTBOX].count_documents({}) == 49
        commands.names.clear()
        assert await uow.run_batch(events, work) is None  # all of them applied already: nothing happens
        assert Counter(n for n in commands.names if n in ("find", "insert")) == {"find": reads}, "read first now"
        assert await store.db[OUTBOX].count_documents({}) == 49
    finally:
        await store.client.drop_database(store.db.name)
        await store.close()


async def _noop() -> None: ...


async def test_only_a_transaction_that_wrote_outbox_rows_wakes_the_relay(infrastructure):
    """A commit that emitted nothing has nothing to publish: waking the relay would cost a read of the
    outbox (and a lease renewal) for nothing. Most of the scheduler's and the notifier's commits emit
    nothing."""
    store = Store(infrastructure.mongo_url, f"wake_{uuid.uuid4().hex[:8]}")
    woken: list[int] = []
    try:
        await store.ensure_plumbing_indexes()
        uow = UnitOfWork(store, "reciprocal-probe", on_commit=lambda: woken.append(1))
        await uow.detect_legacy_ledger()

        async def quiet(tx: Tx, fresh: list) -> None:
            await tx.db["state"].insert_many([{"person_id": e.person_id} for e in fresh], session=tx.session)

        async def loud(tx: Tx, fresh: list) -> None:
            for event in tx.each(fresh):
                tx.emit(event.caused(ProfileWithdrawn, person_id=event.person_id))

        await uow.run(ProfileWithdrawn(org_id="tenant-a", person_id="p0"), lambda tx: _noop())
        await uow.run_batch([ProfileWithdrawn(org_id="tenant-a", person_id="p1")], quiet)
        assert woken == [] and await store.db["state"].count_documents({}) == 1

        await uow.run_batch([ProfileWithdrawn(org_id="tenant-a", person_id="p2")], loud)
        assert woken == [1]

        async def emit_one(tx: Tx) -> None:
            tx.emit(ProfileWithdrawn(org_id="tenant-a", person_id="p3"))

        await uow.run(ProfileWithdrawn(org_id="tenant-a", person_id="p3"), emit_one)
        assert woken == [1, 1] and await store.db[OUTBOX].count_documents({}) == 2
    finally:
        await store.client.drop_database(store.db.name)
        await store.close()
