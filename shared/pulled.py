"""A per-process copy of a set of documents (a program's matches, its partnerships), from which figures
that cover a whole program are computed without reading the whole program again.

Every write of such a document stamps `touched_at` with the wall clock (`touched()`). The first read of
a set loads all of it; every later read pulls only the documents stamped since the last pull, and
reaches back `overlap_s` further, for transactions that stamped a document before the last pull but
committed after it, and for clocks that differ a little between replicas. A transaction that commits
later still than that, and a deletion (which a pull cannot see), are caught by the full re-read every
`full_every_s`, which runs in the background while reads go on pulling.

`keep_warm` loads and pulls every set the source names, so not even the first page after a start waits
for a whole read. Each replica keeps its own copy; nothing is shared between processes."""

import asyncio
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

import structlog

log = structlog.get_logger()
K = TypeVar("K", bound=Hashable)


class Source(Protocol[K]):
    async def pull(self, key: K, since: datetime | None = None) -> list[dict[str, Any]]:
        """The documents of set `key` (each with an `_id`), only those stamped after `since` when given."""

    async def keys(self) -> list[K]:
        """Every set to keep warm."""


def touched() -> datetime:
    """The stamp every write of a pulled document carries as `touched_at`."""
    return datetime.now(UTC)


@dataclass
class _Copy:
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    since: datetime | None = None
    loaded_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    reload: "asyncio.Task[None] | None" = None


class PulledCopies(Generic[K]):
    def __init__(self, source: Source[K], *, overlap_s: float = 10.0, full_every_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.source = source
        self.now = now
        self.overlap = timedelta(seconds=overlap_s)
        self.full_every_s = full_every_s
        self.clock = clock
        self.copies: dict[K, _Copy] = {}
        self.loads = 0
        """Whole-program reads (for tests and the benchmark)."""
        self.pulled = 0
        """Documents read by pulls."""

    async def rows(self, key: K) -> list[dict[str, Any]]:
        """The set's documents as last committed (a pull's worth behind at most)."""
        copy = self.copies.setdefault(key, _Copy())
        async with copy.lock:
            started = self.now()
            if copy.since is None:
                docs = await self.source.pull(key)
                self.loads += 1
                copy.rows = {d["_id"]: d for d in docs}
                copy.loaded_at = self.clock()
            else:
                docs = await self.source.pull(key, copy.since)
                self.pulled += len(docs)
                copy.rows.update((d["_id"], d) for d in docs)
            copy.since = started - self.overlap
            rows = list(copy.rows.values())
        if copy.reload is None and self.clock() - copy.loaded_at > self.full_every_s:
            copy.reload = asyncio.create_task(self._reload(key, copy))
        return rows

    async def _reload(self, key: K, copy: _Copy) -> None:
        """Read the whole set again beside the pulls, then let the next pull reach back to the start
        of this read, so that nothing written meanwhile is lost when its rows replace the copy's."""
        try:
            started = self.now()
            docs = await self.source.pull(key)
            self.loads += 1
            async with copy.lock:
                copy.rows = {d["_id"]: d for d in docs}
                copy.loaded_at = self.clock()
                if copy.since is None or started - self.overlap < copy.since:
                    copy.since = started - self.overlap
        except Exception:
            log.exception("pulled.reload_failed", key=str(key))
        finally:
            copy.reload = None

    async def keep_warm(self, every_s: float) -> None:
        """Load, then keep pulling, every set the source names (a background job)."""
        while True:
            try:
                for key in await self.source.keys():
                    await self.rows(key)
            except Exception:
                log.exception("pulled.warm_failed")
            await asyncio.sleep(every_s)


class ProgramDocuments:
    """A `Source` of the documents of each (org_id, program_id) in one collection, `fields` of each, kept
    warm for every program in `programs`. The collection needs an (org_id, program_id, touched_at) index."""

    def __init__(self, collection: Any, programs: Any, fields: dict[str, int] | None = None) -> None:
        self.collection, self.programs, self.fields = collection, programs, fields

    async def pull(self, key: tuple[str, str], since: datetime | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"org_id": key[0], "program_id": key[1]}
        if since is not None:
            query["touched_at"] = {"$gt": since}
        return await self.collection.find(query, self.fields).to_list(None)  # type: ignore[no-any-return]

    async def keys(self) -> list[tuple[str, str]]:
        return [(d["org_id"], d["program_id"])
                async for d in self.programs.find({}, {"_id": 0, "org_id": 1, "program_id": 1})]
