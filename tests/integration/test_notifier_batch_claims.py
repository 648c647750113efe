"""The delivery loop's batch round trips against the real database: many claims in one transaction, each
guarded by its version; a row held by another open transaction aborts the batch at once (the loop then
claims one by one); many outcomes in one bulk write; the contact cards of a batch in one query per org."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from services.notifier.adapters.repository import NotifierRepository, delivery_doc
from services.notifier.domain import Claimant, Contact, Delivery, DeliveryStatus
from shared.store import Tx

ME = Claimant("replica-a", "run-1")


@pytest.fixture
async def repo(infrastructure):
    client = AsyncMongoClient(infrastructure.mongo_url, tz_aware=True)
    db = client[f"notifier_batch_{uuid.uuid4().hex[:8]}"]
    yield NotifierRepository(db)
    await client.drop_database(db.name)
    await client.close()


def pending(name: str) -> Delivery:
    at = datetime.now(UTC) - timedelta(seconds=5)
    return Delivery(id=name, org_id="acme", person_id=name, channel="email", kind="match_proposed",
                    cause_event_id=str(uuid.uuid4()), correlation_id=None, created_at=at, next_attempt_at=at,
                    version=1, content={"to": f"{name}@acme.test"})


async def stored(repo: NotifierRepository, *names: str) -> list[Delivery]:
    await repo.deliveries.insert_many([delivery_doc(pending(n)) for n in names])
    due = await repo.due_deliveries(datetime.now(UTC), ME, limit=len(names))
    assert sorted(d.id for d in due) == sorted(names)
    for delivery in due:
        delivery.claim(ME, datetime.now(UTC), lease_s=60)
    return sorted(due, key=lambda d: d.id)


async def test_a_batch_of_claims_is_saved_in_one_transaction_each_under_its_version(repo):
    batch = await stored(repo, "a", "b", "c")
    stale = batch[1]
    await repo.deliveries.update_one({"_id": stale.id}, {"$inc": {"version": 1}})  # someone else changed it
    assert await repo.claim_many(batch) == [True, False, True]
    rows = {doc["_id"]: doc async for doc in repo.deliveries.find({})}
    assert [(rows[i]["status"], rows[i]["claim_run"], rows[i]["version"]) for i in ("a", "c")] == [
        ("sending", "run-1", 2), ("sending", "run-1", 2)]
    assert (rows["b"]["status"], rows["b"]["version"]) == ("pending", 2)
    assert [d.version for d in batch] == [2, 1, 2]
    due_ids = [d.id for d in await repo.due_deliveries(datetime.now(UTC), ME, limit=10)]
    assert due_ids == ["b"]


async def test_a_row_held_by_another_open_transaction_aborts_the_batch_at_once(repo):
    batch = await stored(repo, "free-1", "held", "free-2")
    async with repo.client.start_session() as holder:
        await holder.start_transaction()
        await repo.deliveries.update_one({"_id": "held"}, {"$set": {"last_error": "mine"}}, session=holder)
        started = datetime.now(UTC)
        assert await repo.claim_many(batch) is None
        assert datetime.now(UTC) - started < timedelta(seconds=5), "the batch waited for the lock"
        assert await repo.deliveries.count_documents({"status": "sending"}) == 0, "part of the batch was claimed"
        assert {d.id: await repo.claim(d) for d in batch} == {"free-1": True, "held": False, "free-2": True}
        await holder.abort_transaction()
    held = next(d for d in batch if d.id == "held")
    assert await repo.claim_many([held]) == [True]


async def test_many_outcomes_are_saved_in_one_bulk_write_and_a_stale_one_is_not_written(repo):
    batch = await stored(repo, "a", "b")
    assert await repo.claim_many(batch) == [True, True]
    now = datetime.now(UTC)
    for delivery in batch:
        delivery.mark_sent(now)
    await repo.deliveries.update_one({"_id": "b"}, {"$inc": {"version": 1}})  # taken over meanwhile
    async with repo.client.start_session() as session, await session.start_transaction():
        assert await repo.save_many(batch, Tx(repo.deliveries.database, session, None)) == 1
    statuses = {doc["_id"]: doc["status"] async for doc in repo.deliveries.find({})}
    assert statuses == {"a": DeliveryStatus.SENT, "b": DeliveryStatus.SENDING}


async def test_the_contact_cards_of_a_batch_are_read_per_organisation(repo):
    cards = [Contact("ana", "acme", "Ana", "ana@acme.test"), Contact("bo", "acme", "Bo", "bo@acme.test"),
             Contact("ana", "globex", "Ana G", "ana@globex.test")]
    await repo.contacts.insert_many([c.to_doc() for c in cards])
    found = await repo.contacts_for({("acme", "ana"), ("globex", "ana"), ("acme", "nobody")})
    assert {k: c.email for k, c in found.items()} == {("acme", "ana"): "ana@acme.test",
                                                       ("globex", "ana"): "ana@globex.test"}
