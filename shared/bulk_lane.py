"""The bulk lane's poll: FastStream's batch subscriber, without the pause it takes after an empty poll.

`getmany` waits up to `batch_timeout_ms` and returns as soon as a record is buffered. After an empty
one FastStream sleeps as long again, and a record that arrives during that sleep waits it out: at
5 profiles/s that was 5-11 ms of each of a proposal email's three hops (`docs/benchmarks.md`). Here
the lane polls again at once; it pauses only after a poll that came back empty early (a consumer
that is closing), so it never spins."""

import time
from asyncio import sleep
from itertools import chain
from typing import Any

from faststream.kafka.subscriber.usecase import BatchSubscriber


class PromptBatchSubscriber(BatchSubscriber):
    __slots__ = ()

    async def get_msg(self, consumer: Any) -> tuple[Any, ...]:
        started = time.monotonic()
        messages = await consumer.getmany(timeout_ms=self.batch_timeout_ms, max_records=self.max_records)
        if messages:
            return tuple(chain(*messages.values()))
        rest = self.batch_timeout_ms / 1000 - (time.monotonic() - started)
        if rest > 0:
            await sleep(rest)
        return ()


def prompt(subscriber: Any) -> Any:
    """The subscriber FastStream made, polling promptly. The class is swapped in place (it has the same
    slots), because FastStream builds its subscribers itself."""
    if not isinstance(subscriber, BatchSubscriber):
        raise TypeError(f"not a batch subscriber: {type(subscriber).__name__}")
    subscriber.__class__ = PromptBatchSubscriber
    return subscriber
