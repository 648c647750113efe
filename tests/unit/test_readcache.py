"""The short memo of whole-program reads: fresh answers reused, stale ones refreshed once, slow refreshes
answered from the previous value meanwhile."""

import asyncio

import pytest

from shared.readcache import ReadCache


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


async def test_fresh_answers_are_reused_and_stale_ones_refreshed():
    clock, calls = Clock(), []

    async def compute() -> int:
        calls.append(1)
        return len(calls)

    cache: ReadCache[int] = ReadCache(fresh_s=2.0, clock=clock)
    assert await cache.get("p", compute) == 1
    clock.t += 1.0
    assert await cache.get("p", compute) == 1  # still fresh
    clock.t += 1.5
    assert await cache.get("p", compute) == 2  # stale: refreshed (fast, so within wait_s)
    cache.invalidate("p")
    assert await cache.get("p", compute) == 3  # invalidated
    assert await cache.get("q", compute) == 4  # keys are separate


async def test_a_slow_refresh_answers_the_previous_value_and_runs_once():
    clock, release, calls = Clock(), asyncio.Event(), []

    async def compute() -> int:
        calls.append(1)
        if len(calls) > 1:
            await release.wait()
        return len(calls)

    cache: ReadCache[int] = ReadCache(fresh_s=2.0, wait_s=0.01, clock=clock)
    assert await cache.get("p", compute) == 1
    clock.t += 3
    assert await asyncio.gather(cache.get("p", compute), cache.get("p", compute)) == [1, 1]
    assert len(calls) == 2  # one refresh however many ask
    release.set()
    await asyncio.sleep(0.01)
    assert await cache.get("p", compute) == 2


async def test_a_first_read_that_fails_raises_and_the_next_ask_retries():
    attempts = []

    async def compute() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database away")
        return 7

    cache: ReadCache[int] = ReadCache()
    with pytest.raises(RuntimeError):
        await cache.get("p", compute)
    assert await cache.get("p", compute) == 7


async def test_an_answer_older_than_stale_s_is_never_given():
    clock, calls = Clock(), []

    async def compute() -> int:
        calls.append(1)
        await asyncio.sleep(0.05)  # slower than wait_s
        return len(calls)

    cache: ReadCache[int] = ReadCache(fresh_s=2.0, wait_s=0.001, stale_s=8.0, clock=clock)
    assert await cache.get("p", compute) == 1
    clock.t += 3
    assert await cache.get("p", compute) == 1  # 3 s old: given while the refresh runs
    await asyncio.sleep(0.1)
    clock.t += 60  # nobody asked for a minute
    assert await cache.get("p", compute) == 3  # waited for the refresh instead
