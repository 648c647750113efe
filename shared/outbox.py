"""The outbox relay: publishes committed events from the service's own database, in order per key.

One replica relays at a time: it holds a lease in the database, so two replicas never publish the same
rows side by side. It renews the lease before a batch once a third of it has passed since the last
renewal (a write per pass cost as much as the read of the rows), so a batch always starts with at least
two thirds of the lease ahead of it. If the leader dies, another takes over once the lease expires; a
graceful stop hands it over at once. A published row is deleted: the event is on its topic, and a copy
kept would cost every later write and outlive what it says. At least once: a crash between publish and
delete re-publishes, and consumers de-duplicate on event_id.

An event that can never be published (too large, or refused by the broker for what it is) is moved
aside to `outbox_dead` with the reason, so the rows after it still go out. Any other failure is
retried with a bounded, jittered exponential backoff that commits do not cut short.
"""

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pymongo.errors import DuplicateKeyError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential_jitter

from shared.metrics import PlumbingMetrics, plumbing_metrics
from shared.store import IN_CHUNK, LEASES, OUTBOX, OUTBOX_DEAD, Store, is_duplicate_on

log = structlog.get_logger()


class Unpublishable(Exception):
    """This outgoing event can never be published as it is; retrying cannot help."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


PublishOutcome = BaseException | None
PublishMany = Callable[[list[dict[str, Any]]], Awaitable[Sequence[PublishOutcome] | None]]
"""Publishes documents in order and waits for the broker. Returns one outcome per document (None when
published, Unpublishable, or the transient error), or None when every one was published."""

RELAY_LEASE = "outbox-relay"
RELAY_STOP_S = 10.0
"""How long a stopping relay may take to finish its batch and publish what was committed meanwhile."""
HAND_OVER_S = 2.0
"""How long a stopping relay tries to hand its lease over; after that the lease simply expires."""


class TransientPublishFailure(Exception):
    """Some rows of a batch failed for a reason that may pass; they stay in the outbox."""


class OutboxRelay:
    def __init__(
        self, store: Store, publish_many: PublishMany, *, owner: str,
        poll_s: float = 0.5, lease_s: float = 10.0, batch: int = 500, backoff_max_s: float = 30.0,
        metrics: PlumbingMetrics | None = None,
    ) -> None:
        self.store = store
        self.publish_many = publish_many
        self.owner = owner
        self.poll_s = poll_s
        self.lease_s = lease_s
        self.batch = batch
        self.backoff_max_s = backoff_max_s
        self.metrics = metrics or plumbing_metrics()
        self._wake = asyncio.Event()
        self._batch = asyncio.Lock()  # held from a batch's publish until its rows are deleted
        self._task: asyncio.Task[None] | None = None
        self._renewed_at = -math.inf  # loop time at which the last renewal that succeeded was sent
        self.published = 0
        self.dead_lettered = 0

    def kick(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self, grace_s: float = RELAY_STOP_S) -> None:
        """Stop once the batch in flight is published and deleted (for up to `grace_s`), so a graceful hand-over
        to another replica publishes no row twice; then, in what is left of `grace_s`, publish once more
        what was committed meanwhile (the caller stopped consuming first, so that is all of it), and hand
        the lease over at once."""
        task, self._task = self._task, None
        if task:
            deadline = asyncio.get_running_loop().time() + grace_s
            try:
                await asyncio.wait_for(self._batch.acquire(), grace_s)
                held = True
            except TimeoutError:
                held = False  # a batch stuck that long is cut short: its rows go out again (at least once)
            try:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            finally:
                if held:
                    self._batch.release()
            if held:
                try:
                    await asyncio.wait_for(self.flush(), max(0.0, deadline - asyncio.get_running_loop().time()))
                except Exception as exc:  # the next leader publishes what is left
                    log.warning("outbox.final_flush_failed", error_type=type(exc).__name__, error=str(exc)[:300])
        self._renewed_at = -math.inf
        with contextlib.suppress(Exception):  # a database that is gone must not hold the stop: the lease expires
            await asyncio.wait_for(self.store.db[LEASES].update_one(
                {"_id": RELAY_LEASE, "owner": self.owner}, {"$set": {"expires_at": datetime.fromtimestamp(0, UTC)}}
            ), HAND_OVER_S)

    async def lead(self) -> bool:
        """Take or renew the relay lease; False while another live replica holds it. Within a third of
        the lease since the last renewal this replica still holds it, and nothing is written."""
        sent_at = asyncio.get_running_loop().time()
        if sent_at - self._renewed_at < self.lease_s / 3:
            return True
        self._renewed_at = -math.inf
        now = datetime.now(UTC)
        try:
            await self.store.db[LEASES].update_one(
                {"_id": RELAY_LEASE, "$or": [{"owner": self.owner}, {"expires_at": {"$lte": now}}]},
                {"$set": {"owner": self.owner, "expires_at": now + timedelta(seconds=self.lease_s)}},
                upsert=True,
            )
        except DuplicateKeyError as exc:
            if is_duplicate_on(exc, "_id"):
                return False
            raise
        self._renewed_at = sent_at
        return True

    async def flush(self) -> int:
        """Publish every pending event while leading, checking the lease before each batch (`lead`) so a
        long backlog never outlives it; returns how many were published.

        Raises TransientPublishFailure once the rows that did go out are deleted, if some did not."""
        total = 0
        while True:
            # Renew and read side by side: one round trip less between a commit and its publish.
            leading, docs = await asyncio.gather(
                self.lead(), self.store.db[OUTBOX].find({"published": False}).sort("_id", 1).to_list(self.batch)
            )
            if not leading or not docs:
                return total
            async with self._batch:
                outcomes = list(await self.publish_many(docs) or [None] * len(docs))
                done = [d["_id"] for d, outcome in zip(docs, outcomes, strict=True) if outcome is None]
                await self._delete(done)
                for doc, outcome in zip(docs, outcomes, strict=True):
                    if isinstance(outcome, Unpublishable):
                        await self._move_aside(doc, outcome)
            total += len(done)
            self.published += len(done)
            failed = [o for o in outcomes if o is not None and not isinstance(o, Unpublishable)]
            if failed:
                raise TransientPublishFailure(f"{len(failed)} of {len(docs)} rows not published") from failed[0]
            if len(docs) < self.batch:
                return total  # rows committed meanwhile kicked the relay: the next pass takes them

    async def _delete(self, ids: list[Any]) -> None:
        """Delete published rows, `IN_CHUNK` ids per command (an `$in` of n ids costs SecantusDB n²). On
        SecantusDB a delete costs a third of the update that marked rows published before (which rewrote
        two indexed fields), and the collection stays as small as the backlog."""
        for start in range(0, len(ids), IN_CHUNK):
            await self.store.db[OUTBOX].delete_many({"_id": {"$in": ids[start:start + IN_CHUNK]}})

    async def _move_aside(self, doc: dict[str, Any], why: Unpublishable) -> None:
        """Keep the row, with the reason, in outbox_dead (same _id: a retried move is harmless)."""
        dead = {**doc, "dead_reason": why.reason, "dead_error": why.detail, "dead_at": datetime.now(UTC)}
        try:
            await self.store.db[OUTBOX_DEAD].insert_one(dead)
        except DuplicateKeyError as exc:
            if not is_duplicate_on(exc, "_id"):
                raise
        await self.store.db[OUTBOX].delete_one({"_id": doc["_id"]})
        self.dead_lettered += 1
        self.metrics.outbox_dead_lettered.labels(doc["topic"], why.reason).inc()
        log.error(
            "outbox.dead_lettered", topic=doc["topic"], event_id=doc.get("event_id"), reason=why.reason,
            error=why.detail[:300], value_bytes=len(doc.get("value") or b""),
        )

    async def lag(self) -> tuple[float, int]:
        """Age in seconds of the oldest unpublished row and how many there are (0, 0 when caught up);
        also sets the lag gauges. Any replica can tell: the outbox is the service's, not the leader's."""
        outbox = self.store.db[OUTBOX]
        oldest = await outbox.find_one({"published": False}, {"created_at": 1}, sort=[("_id", 1)])
        if oldest is None:
            age, pending = 0.0, 0
        else:
            created = oldest.get("created_at") or oldest["_id"].generation_time
            age = max(0.0, (datetime.now(UTC) - created).total_seconds())
            pending = await outbox.count_documents({"published": False})
        self.metrics.outbox_lag_seconds.set(age)
        self.metrics.outbox_pending.set(pending)
        return age, pending

    async def _run(self) -> None:
        while True:
            async for attempt in AsyncRetrying(
                wait=wait_exponential_jitter(multiplier=self.poll_s, max=self.backoff_max_s, jitter=self.poll_s),
                retry=retry_if_exception_type(Exception),
                before_sleep=self._failed,
            ):
                with attempt:
                    self._wake.clear()
                    await self.flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)

    def _failed(self, state: RetryCallState) -> None:
        self.metrics.outbox_flush_failures.inc()
        exc = state.outcome.exception() if state.outcome else None
        cause = exc.__cause__ if isinstance(exc, TransientPublishFailure) and exc.__cause__ else exc
        log.warning(
            "outbox.flush_failed", error_type=type(cause).__name__, error=str(cause)[:300],
            attempt=state.attempt_number, retry_in_s=round(state.upcoming_sleep, 2),
        )
