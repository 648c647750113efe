"""A short in-process memo of a read that covers a whole program (counts, figures, the ordered keys of
its rows), so that a console page polled every two seconds does not make the service re-read the program
from its database on every request.

An answer is fresh for `fresh_s` (2 s). Once it is older (or `invalidate`d), the next ask starts one
refresh and waits for it at most `wait_s` (0.25 s: a small program's refresh ends within it); if the
refresh takes longer (a program of thousands), the previous answer is given meanwhile, as long as it is
no older than `stale_s` (8 s), and the refresh's result serves the asks after it. An older answer is
never given: the ask waits for the refresh. So pages reflect new events within a few seconds, a program
is re-read at most once per `fresh_s` however many pages ask, and only the first ask after a start (or
after `stale_s` without any) waits for a whole read. Each replica of a service has its own memo;
nothing is shared between processes."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Entry(Generic[T]):
    value: T | None = None
    has_value: bool = False
    at: float = 0.0
    asked_at: float = 0.0
    dirty: bool = False
    refresh: "asyncio.Task[T] | None" = None
    started_at: float = field(default=0.0)


class ReadCache(Generic[T]):
    def __init__(self, *, fresh_s: float = 2.0, wait_s: float = 0.25, stale_s: float = 8.0,
                 max_keys: int = 512, clock: Callable[[], float] = time.monotonic) -> None:
        self.fresh_s, self.wait_s, self.stale_s, self.max_keys = fresh_s, wait_s, stale_s, max_keys
        self.clock = clock
        self.entries: dict[Hashable, _Entry[T]] = {}
        self.reads = 0
        """How many times a compute ran (for tests)."""

    def invalidate(self, key: Hashable) -> None:
        """The next ask of `key` refreshes it (e.g. after this process changed the program)."""
        entry = self.entries.get(key)
        if entry is not None:
            entry.dirty = True

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        now = self.clock()
        entry = self.entries.get(key)
        if entry is None:
            self._make_room(now)
            entry = self.entries[key] = _Entry()
        entry.asked_at = now
        if entry.has_value and not entry.dirty and now - entry.at < self.fresh_s:
            return entry.value  # type: ignore[return-value]
        if entry.refresh is None:
            entry.refresh = asyncio.create_task(self._refresh(entry, compute, now))
        if not entry.has_value or now - entry.at > self.stale_s:
            return await asyncio.shield(entry.refresh)  # nothing, or nothing recent enough, to answer
        try:
            return await asyncio.wait_for(asyncio.shield(entry.refresh), self.wait_s)
        except TimeoutError:
            return entry.value  # type: ignore[return-value]
        except Exception:  # the refresh failed: the previous answer stands, the next ask retries
            return entry.value  # type: ignore[return-value]

    async def _refresh(self, entry: _Entry[T], compute: Callable[[], Awaitable[T]], started: float) -> T:
        entry.dirty = False  # an invalidation from now on applies to the next refresh
        try:
            self.reads += 1
            value = await compute()
        finally:
            entry.refresh = None
        entry.value, entry.has_value, entry.at = value, True, started
        return value

    def _make_room(self, now: float) -> None:
        if len(self.entries) < self.max_keys:
            return
        idle = [k for k, e in self.entries.items() if e.refresh is None]
        for key in sorted(idle, key=lambda k: self.entries[k].asked_at)[:max(1, len(idle) // 4)]:
            del self.entries[key]


def page_of(rows: list[Any], offset: int, limit: int) -> list[Any]:
    return rows[offset:offset + limit]


PAGE_DEFAULT = 100
PAGE_MAX = 500
"""The row lists of the program endpoints answer `limit` rows (default 100, at most 500) from `offset`;
every answer carries `total`, so a client pages through with offset += limit."""
IDS_MAX = 200
"""At most this many ids in one by-id read (`?match_id=…` repeated)."""


def paging(offset: int, limit: int) -> tuple[int, int]:
    """The offset and limit as asked, refused (ValueError) outside 0 ≤ offset, 1 ≤ limit ≤ PAGE_MAX."""
    if offset < 0 or not 1 <= limit <= PAGE_MAX:
        raise ValueError(f"limit must be 1..{PAGE_MAX} and offset at least 0")
    return offset, limit


def paged(rows: list[Any], offset: int, limit: int, **about: Any) -> dict[str, Any]:
    return {**about, "total": len(rows), "offset": offset, "limit": limit, "rows": page_of(rows, offset, limit)}


__all__ = ["IDS_MAX", "PAGE_DEFAULT", "PAGE_MAX", "ReadCache", "paged", "paging"]
