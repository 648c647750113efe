"""The outbox relay against the real database: with two replicas, one leads and every row is
published once; a graceful stop hands over at once, a dead leader's lease expires."""

import asyncio
import contextlib
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.outbox import RELAY_LEASE, OutboxRelay
from shared.store import LEASES, OUTBOX, Store


def rows(n: int) -> list[dict[str, Any]]:
    return [{"event_id": str(uuid.uuid4()), "topic": "t", "key": "k", "value": b"{}", "published": False}
            for _ in range(n)]


async def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_two_replicas_publish_each_row_once_and_hand_over(infrastructure):
    store = Store(infrastructure.mongo_url, f"relay_{uuid.uuid4().hex[:8]}")
    published: Counter[str] = Counter()
    by: dict[str, list[str]] = {"a": [], "b": [], "c": []}
    sent_at: dict[str, list[datetime]] = {"a": [], "b": [], "c": []}

    def publisher(name: str):
        async def publish_many(docs: list[dict[str, Any]]) -> None:
            await asyncio.sleep(0.01)  # widen the window in which a second relay could pick the same rows
            published.update(d["event_id"] for d in docs)
            by[name].extend(d["event_id"] for d in docs)
            sent_at[name].append(datetime.now(UTC))
        return publish_many

    # Leases of 3 s: a hand-over well inside one proves it did not wait for the lease to expire.
    a = OutboxRelay(store, publisher("a"), owner="a", poll_s=0.05, lease_s=3.0, batch=5)
    b = OutboxRelay(store, publisher("b"), owner="b", poll_s=0.05, lease_s=3.0, batch=5)
    try:
        await store.ensure_plumbing_indexes()
        await a.start()
        await asyncio.sleep(0.2)  # a takes the lease
        await b.start()
        first = rows(40)
        await store.db[OUTBOX].insert_many(first)
        a.kick(), b.kick()
        await wait_until(lambda: len(published) == 40)
        assert set(published.values()) == {1} and by["b"] == []

        await a.stop()  # graceful: the lease is released, b leads at once
        second = rows(10)
        await store.db[OUTBOX].insert_many(second)
        b.kick()
        await wait_until(lambda: len(published) == 50, timeout=2.5)
        assert set(published.values()) == {1} and len(by["b"]) == 10

        b._task.cancel()  # b dies without releasing; a new replica waits for the lease to expire
        with contextlib.suppress(asyncio.CancelledError):
            await b._task
        assert await b.lead()  # its last renewal: a live lease that the new replica must wait out
        lease = await store.db[LEASES].find_one({"_id": RELAY_LEASE})
        c = OutboxRelay(store, publisher("c"), owner="c", poll_s=0.05, lease_s=1.0)
        await store.db[OUTBOX].insert_many(rows(5))
        await c.start()
        await wait_until(lambda: len(published) == 55, timeout=8)
        assert set(published.values()) == {1} and len(by["c"]) == 5
        assert min(sent_at["c"]) >= lease["expires_at"], "c published while the dead leader's lease was live"
        await c.stop()
    finally:
        await a.stop()
        await b.stop()
        await store.client.drop_database(store.db.name)
        await store.close()


async def test_a_relay_that_loses_its_lease_mid_backlog_stops_publishing(infrastructure):
    """A leader that stalled past its lease (here: a slow publish while another replica took the lease
    over) notices at its next renewal, a third of the lease after the last one, and publishes no more."""
    store = Store(infrastructure.mongo_url, f"relay_{uuid.uuid4().hex[:8]}")
    seen: list[str] = []

    async def publish_then_lose_the_lease(docs: list[dict[str, Any]]) -> None:
        seen.extend(d["event_id"] for d in docs)
        await store.db[LEASES].update_one({"_id": RELAY_LEASE}, {"$set": {
            "owner": "someone-else", "expires_at": datetime.now(UTC) + timedelta(minutes=1)}})
        await asyncio.sleep(0.4)  # past a third of the lease: the next batch renews first

    relay = OutboxRelay(store, publish_then_lose_the_lease, owner="a", lease_s=0.9, batch=5)
    try:
        await store.ensure_plumbing_indexes()
        await store.db[OUTBOX].insert_many(rows(20))
        assert await relay.flush() == 5  # the lease is checked before every batch, not once per pass
        assert len(seen) == 5
    finally:
        await store.client.drop_database(store.db.name)
        await store.close()


async def test_a_fresh_lease_is_not_written_again_before_a_third_of_it_has_passed(infrastructure):
    store = Store(infrastructure.mongo_url, f"relay_{uuid.uuid4().hex[:8]}")

    async def publish_many(docs: list[dict[str, Any]]) -> None:
        return None

    relay = OutboxRelay(store, publish_many, owner="a", lease_s=3.0, batch=5)
    leases = store.db[LEASES]
    try:
        await store.ensure_plumbing_indexes()
        await store.db[OUTBOX].insert_many(rows(12))
        assert await relay.flush() == 12  # three batches, one renewal
        taken = (await leases.find_one({"_id": RELAY_LEASE}))["expires_at"]
        await store.db[OUTBOX].insert_many(rows(3))
        assert await relay.flush() == 3
        assert (await leases.find_one({"_id": RELAY_LEASE}))["expires_at"] == taken, "renewed while fresh"
        await asyncio.sleep(1.05)  # a third of the lease
        assert await relay.flush() == 0
        renewed = (await leases.find_one({"_id": RELAY_LEASE}))["expires_at"]
        assert renewed > taken, "not renewed once a third of the lease had passed"
        assert renewed - datetime.now(UTC) > timedelta(seconds=2.0), "renewed for a whole lease"
    finally:
        await store.client.drop_database(store.db.name)
        await store.close()


async def test_a_graceful_stop_publishes_what_was_committed_before_it(infrastructure):
    """A service stops consuming, then stops its relay: rows committed since the relay's last pass go out
    in that stop, not when another replica (or the next start) next polls."""
    store = Store(infrastructure.mongo_url, f"relay_{uuid.uuid4().hex[:8]}")
    published: list[str] = []

    async def publish_many(docs: list[dict[str, Any]]) -> None:
        published.extend(d["event_id"] for d in docs)

    relay = OutboxRelay(store, publish_many, owner="a", poll_s=60.0)  # it would not look again for a minute
    try:
        await store.ensure_plumbing_indexes()
        await relay.start()
        leases = store.db[LEASES]
        while not await leases.find_one({"_id": RELAY_LEASE, "owner": "a"}):  # noqa: ASYNC110 — its first pass
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # that pass's read of the (empty) outbox is over; it waits for a kick or the poll
        late = rows(3)
        await store.db[OUTBOX].insert_many(late)  # committed, and no kick reached the relay
        await relay.stop()
        assert published == [r["event_id"] for r in late]
        assert await store.db[OUTBOX].count_documents({}) == 0, "a published row is deleted"
        lease = await store.db[LEASES].find_one({"_id": RELAY_LEASE})
        assert lease["expires_at"] <= datetime.now(UTC), "the lease is handed over at once"
        await relay.stop()  # a second stop does nothing
        assert len(published) == 3
    finally:
        await store.client.drop_database(store.db.name)
        await store.close()
