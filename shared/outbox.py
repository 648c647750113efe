"""The outbox relay: publishes committed events from the service's own database, in order per key.

At least once: a crash between publish and mark re-publishes, and consumers de-duplicate on event_id.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from shared.store import OUTBOX, Store

log = structlog.get_logger()

PublishMany = Callable[[list[dict[str, Any]]], Awaitable[None]]


class OutboxRelay:
    def __init__(self, store: Store, publish_many: PublishMany, *, poll_s: float = 0.5, batch: int = 500) -> None:
        self.store = store
        self.publish_many = publish_many
        self.poll_s = poll_s
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

    async def flush(self) -> int:
        """Publish every pending event; returns how many were published."""
        total = 0
        while True:
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

    async def _run(self) -> None:
        while True:
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox.flush_failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
