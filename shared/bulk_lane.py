"""The bulk lane's poll: FastStream's batch subscriber, without the pause it takes after an empty poll.

`getmany` waits up to `batch_timeout_ms` and returns as soon as a record is buffered. After an empty
one FastStream sleeps as long again, and a record that arrives during that sleep waits it out: at
5 profiles/s that was 5-11 ms of each of a proposal email's three hops (`docs/benchmarks.md`). Here
the lane polls again at once; it pauses only after a poll that came back empty early (a consumer
that is closing), so it never spins.

Under load the opposite helps: a lane that finds several records already buffered is behind, and
waiting `batch_linger_ms` for more makes fewer, larger transactions (at 50 profiles/s, 46 completed/s
against 39)."""

import functools
import time
from asyncio import sleep
from itertools import chain
from typing import Any

from faststream.kafka.subscriber.usecase import BatchSubscriber

BEHIND_AT = 3
"""A lane that finds this many records buffered when it asks is behind: its batch may linger. (Fewer are
the ordinary case of a lane that keeps up: the two profiles of a pair, an event and its echo.)"""


class PromptBatchSubscriber(BatchSubscriber):
    __slots__ = ()
    linger_s: float = 0.0
    """How long a batch found already buffered (the lane is behind) waits for more; a class attribute
    (see `prompt`)."""

    async def get_msg(self, consumer: Any) -> tuple[Any, ...]:
        records = _records(await consumer.getmany(timeout_ms=0, max_records=self.max_records))
        if records:  # buffered while the last batch was handled
            behind = len(records) >= BEHIND_AT
            if behind and self.linger_s > 0 and (self.max_records is None or len(records) < self.max_records):
                await sleep(self.linger_s)
                room = None if self.max_records is None else self.max_records - len(records)
                records += _records(await consumer.getmany(timeout_ms=0, max_records=room))
            return tuple(records)
        started = time.monotonic()
        records = _records(await consumer.getmany(timeout_ms=self.batch_timeout_ms, max_records=self.max_records))
        if not records:
            rest = self.batch_timeout_ms / 1000 - (time.monotonic() - started)
            if rest > 0:
                await sleep(rest)
        return tuple(records)


def _records(by_partition: dict[Any, list[Any]]) -> list[Any]:
    """In offset order within each partition; a later poll's records of a partition come after these."""
    return list(chain(*by_partition.values()))


def prompt(subscriber: Any, linger_ms: int = 0) -> Any:
    """The subscriber FastStream made, polling promptly; with `linger_ms`, a batch that was already
    buffered when the lane asked (it is behind) waits that long for more before it is handled: fewer,
    larger transactions under load, while a lane that keeps up takes each record as it arrives. The class
    is swapped in place (it has the same slots), because FastStream builds its subscribers itself."""
    if not isinstance(subscriber, BatchSubscriber):
        raise TypeError(f"not a batch subscriber: {type(subscriber).__name__}")
    subscriber.__class__ = _lingering(linger_ms) if linger_ms > 0 else PromptBatchSubscriber
    return subscriber


@functools.cache
def _lingering(linger_ms: int) -> type[PromptBatchSubscriber]:
    """A subclass per linger: an instance attribute would change the slots' layout."""
    return type(f"PromptBatchSubscriberLingering{linger_ms}ms", (PromptBatchSubscriber,),
                {"__slots__": (), "linger_s": linger_ms / 1000})
