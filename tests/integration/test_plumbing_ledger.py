"""The processed-event ledger against the real database: keyed by tenant, still honouring entries
written before it was, and telling its own duplicates from a handler's."""

import uuid
from datetime import UTC, datetime

import pytest
from pymongo.errors import DuplicateKeyError
from support import QueryLog, examined

from shared.contract import ProfileWithdrawn
from shared.store import LEDGER, AlreadyProcessed, Store, Tx, UnitOfWork

CONSUMER = "reciprocal-probe"


@pytest.fixture
async def store(infrastructure):
    commands = QueryLog()
    store = Store(infrastructure.mongo_url, f"ledger_{uuid.uuid4().hex[:8]}", event_listeners=[commands])
    store.commands = commands
    yield store
    await store.client.drop_database(store.db.name)
    await store.close()


def withdrawn(org: str, event_id: uuid.UUID) -> ProfileWithdrawn:
    return ProfileWithdrawn(org_id=org, person_id="p1", event_id=event_id)


async def apply(uow: UnitOfWork, event: ProfileWithdrawn) -> None:
    async def work(tx: Tx) -> None:
        await tx.db["effects"].insert_one({"org_id": event.org_id}, session=tx.session)

    await uow.run(event, work)


async def test_one_tenant_never_suppresses_another_with_the_same_event_id(store):
    await store.ensure_plumbing_indexes()
    uow = UnitOfWork(store, CONSUMER)
    await uow.detect_legacy_ledger()
    shared_id = uuid.uuid4()
    await apply(uow, withdrawn("tenant-a", shared_id))
    await apply(uow, withdrawn("tenant-c", shared_id))  # the same event id, another tenant: applied
    with pytest.raises(AlreadyProcessed):
        await apply(uow, withdrawn("tenant-a", shared_id))
    assert sorted(d["org_id"] for d in await store.db["effects"].find({}).to_list(None)) == ["tenant-a", "tenant-c"]


async def test_entries_written_before_the_upgrade_still_block_their_redelivered_event(store):
    # The database as the previous release left it: its unique index, and entries with no org_id.
    await store.db[LEDGER].create_index([("consumer", 1), ("event_id", 1)], unique=True)
    old_id = uuid.uuid4()
    await store.db[LEDGER].insert_one(
        {
            "consumer": CONSUMER,
            "event_id": str(old_id),
            "topic": "profiles.withdrawn",
            "processed_at": datetime.now(UTC),
        }
    )
    await store.ensure_plumbing_indexes()
    indexes = await store.db[LEDGER].index_information()
    assert "consumer_1_event_id_1" not in indexes
    uow = UnitOfWork(store, CONSUMER)
    assert await uow.detect_legacy_ledger() is True
    with pytest.raises(AlreadyProcessed):
        await apply(uow, withdrawn("tenant-a", old_id))
    await apply(uow, withdrawn("tenant-a", uuid.uuid4()))
    other_service = UnitOfWork(store, "reciprocal-other")
    assert await other_service.detect_legacy_ledger() is False  # legacy entries are per consumer
    await apply(other_service, withdrawn("tenant-a", old_id))
    assert await store.db["effects"].count_documents({}) == 2


async def test_without_legacy_entries_an_event_costs_no_extra_ledger_read(store):
    await store.ensure_plumbing_indexes()
    uow = UnitOfWork(store, CONSUMER)
    assert await uow.detect_legacy_ledger() is False
    store.commands.names.clear()
    await apply(uow, withdrawn("tenant-a", uuid.uuid4()))
    assert "find" not in store.commands.names, store.commands.names
    assert store.commands.names.count("insert") == 2  # the ledger entry and the handler's effect


async def test_a_handlers_own_duplicate_key_is_not_mistaken_for_a_processed_event(store):
    """Recognised by the index's key pattern: an index on `cause_event_id` is not the ledger."""
    await store.ensure_plumbing_indexes()
    await store.db["deliveries"].create_index("cause_event_id", unique=True)
    uow = UnitOfWork(store, CONSUMER)
    cause = uuid.uuid4()
    await store.db["deliveries"].insert_one({"cause_event_id": str(cause)})

    async def work(tx: Tx) -> None:
        await tx.db["deliveries"].insert_one({"cause_event_id": str(cause)}, session=tx.session)

    with pytest.raises(DuplicateKeyError):
        await uow.run(withdrawn("tenant-a", uuid.uuid4()), work)


async def test_a_batchs_ledger_read_examines_only_its_own_events_however_long_the_ledger(store):
    """The batch read asks per tenant for (consumer, org_id, event_id in the batch): an index range. Asked
    with both org_id and event_id as lists, SecantusDB walked every entry of the consumer, which made the
    read of every batch slower as the ledger grew (0.3 s per batch after a 3,000-person import)."""
    await store.ensure_plumbing_indexes()
    now = datetime.now(UTC)
    await store.db[LEDGER].insert_many([
        {"consumer": CONSUMER, "org_id": f"tenant-{i % 3}", "event_id": str(uuid.uuid4()), "processed_at": now}
        for i in range(600)
    ])
    uow = UnitOfWork(store, CONSUMER)
    await uow.detect_legacy_ledger()
    batch = [withdrawn(f"tenant-{i % 2}", uuid.uuid4()) for i in range(6)]

    async def work(tx: Tx, fresh: list) -> int:
        return len(fresh)

    await uow.run_batch(batch[:1], work)  # applied before: the batch's read of the ledger happens
    store.commands.finds.clear()
    assert await uow.run_batch(batch, work) == 5
    reads = [f for f in store.commands.finds if f["find"] == LEDGER]
    assert len(reads) == 2  # one per tenant in the batch
    for read in reads:
        assert await examined(store.db, read) <= 2 * len(batch), read["filter"]
