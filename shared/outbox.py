"""The outbox relay: publishes committed events from the service's own database, in order per key.

One replica relays at a time: it holds a lease in the database and renews it on every pass, so two
replicas never publish the same rows side by side. If the leader dies, another takes over once the
lease expires; a graceful stop hands it over at once. At least once: a crash between publish and
mark re-publishes, and consumers de-duplicate on event_id.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pymongo.errors import DuplicateKeyError

from shared.store import LEASES, OUTBOX, Store

log = structlog.get_logger()

PublishMany = Callable[[list[dict[str, Any]]], Awaitable[None]]
RELAY_LEASE = "outbox-relay"


class OutboxRelay:
    def __init__(
        self, store: Store, publish_many: PublishMany, *, owner: str,
        poll_s: float = 0.5, lease_s: float = 10.0, batch: int = 500,
    ) -> None:
        self.store = store
        self.publish_many = publish_many
        self.owner = owner
        self.poll_s = poll_s
        self.lease_s = lease_s
        self.batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    def kick(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.store.db[LEASES].update_one(
                {"_id": RELAY_LEASE, "owner": self.owner}, {"$set": {"expires_at": datetime.fromtimestamp(0, UTC)}}
            )

    async def lead(self) -> bool:
        """Take or renew the relay lease; False while another live replica holds it."""
        now = datetime.now(UTC)
        try:
            await self.store.db[LEASES].update_one(
                {"_id": RELAY_LEASE, "$or": [{"owner": self.owner}, {"expires_at": {"$lte": now}}]},
                {"$set": {"owner": self.owner, "expires_at": now + timedelta(seconds=self.lease_s)}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    async def flush(self) -> int:
        """Publish every pending event while leading, renewing the lease before each batch so a long
        backlog never outlives it; returns how many were published."""
        total = 0
        while await self.lead():
            docs = await self.store.db[OUTBOX].find({"published": False}).sort("_id", 1).to_list(self.batch)
            if not docs:
                return total
            await self.publish_many(docs)
            await self.store.db[OUTBOX].update_many(
                {"_id": {"$in": [d["_id"] for d in docs]}},
                {"$set": {"published": True, "published_at": datetime.now(UTC)}},
            )
            total += len(docs)
            self.published += len(docs)
        return total

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox.flush_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
