"""A per-process copy of each program's matches as small projections (people, status, reason, times),
from which the console's program figures are computed without reading the whole program again.

Every write of a match stamps `touched_at` with the wall clock (`MatcherRepository`). The first read of
a program loads all of its matches; every later read pulls only those stamped since the last pull, and
reaches back `overlap_s` further, for transactions that stamped a match before the last pull but
committed after it, and for clocks that differ a little between replicas. A transaction that commits
later still than that is caught by the full re-read every `full_every_s`, which runs in the background
while reads go on pulling. Matches are never deleted, so a pull misses no removal.

`keep_warm` loads and pulls every program the matcher knows, so not even the first page after a start
waits for a whole-program read. Each replica keeps its own copy (about 200 bytes per match)."""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog

log = structlog.get_logger()


class MatchRows(Protocol):
    async def program_match_rows(self, org_id: str, program_id: str,
                                 since: datetime | None = None) -> list[dict[str, Any]]:
        """The program's matches as projections, only those stamped after `since` when given."""

    async def known_programs(self) -> list[tuple[str, str]]:
        """(org_id, program_id) of every program the matcher knows."""


@dataclass
class _Copy:
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    since: datetime | None = None
    loaded_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    reload: "asyncio.Task[None] | None" = None


class MatchLedger:
    def __init__(self, source: MatchRows, *, overlap_s: float = 10.0, full_every_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.source = source
        self.now = now
        self.overlap = timedelta(seconds=overlap_s)
        self.full_every_s = full_every_s
        self.clock = clock
        self.copies: dict[tuple[str, str], _Copy] = {}
        self.loads = 0
        """Whole-program reads (for tests and the benchmark)."""
        self.pulled = 0
        """Matches read by pulls."""

    async def rows(self, org_id: str, program_id: str) -> list[dict[str, Any]]:
        """The program's matches as last committed (a pull's worth behind at most)."""
        key = (org_id, program_id)
        copy = self.copies.setdefault(key, _Copy())
        async with copy.lock:
            started = self.now()
            if copy.since is None:
                docs = await self.source.program_match_rows(org_id, program_id)
                self.loads += 1
                copy.rows = {d["_id"]: d for d in docs}
                copy.loaded_at = self.clock()
            else:
                docs = await self.source.program_match_rows(org_id, program_id, copy.since)
                self.pulled += len(docs)
                copy.rows.update((d["_id"], d) for d in docs)
            copy.since = started - self.overlap
            rows = list(copy.rows.values())
        if copy.reload is None and self.clock() - copy.loaded_at > self.full_every_s:
            copy.reload = asyncio.create_task(self._reload(key, copy))
        return rows

    async def _reload(self, key: tuple[str, str], copy: _Copy) -> None:
        """Read the whole program again beside the pulls, then let the next pull reach back to the start
        of this read, so that nothing written meanwhile is lost when its rows replace the copy's."""
        try:
            started = self.now()
            docs = await self.source.program_match_rows(*key)
            self.loads += 1
            async with copy.lock:
                copy.rows = {d["_id"]: d for d in docs}
                copy.loaded_at = self.clock()
                if copy.since is None or started - self.overlap < copy.since:
                    copy.since = started - self.overlap
        except Exception:
            log.exception("matcher.ledger_reload_failed")
        finally:
            copy.reload = None

    async def keep_warm(self, every_s: float) -> None:
        """Load, then keep pulling, every program the matcher knows (a background job)."""
        while True:
            try:
                for org_id, program_id in await self.source.known_programs():
                    await self.rows(org_id, program_id)
            except Exception:
                log.exception("matcher.ledger_warm_failed")
            await asyncio.sleep(every_s)
