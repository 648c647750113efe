"""Publishes the console's actions as contract events (matches.responded, sessions.checked-in,
partnerships.end-requested, programs.configured) on their topics, keyed like every producer keys them."""

import asyncio
import contextlib

from aiokafka import AIOKafkaProducer

from shared.contract import Event
from shared.contract.topics import topic_of


class Publisher:
    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
                await producer.start()
                self._producer = producer
            return self._producer

    async def publish(self, event: Event) -> None:
        producer = await self._started()
        key = str(getattr(event, type(event).key_field))
        await producer.send_and_wait(topic_of(event), event.model_dump_json().encode(), key=key.encode())

    async def ping(self) -> bool:
        try:
            await asyncio.wait_for(self._started(), 5)
        except Exception:
            return False
        return True

    async def close(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
