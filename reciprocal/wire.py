"""Talk to the stack the way a frontend does: raw JSON on the topics, read back by event type."""

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from shared.contract.topics import TOPICS


def stamp_envelope(topic: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A hand-written event with the envelope fields a frontend may leave out filled in."""
    return {"event_id": str(uuid.uuid4()), "event_type": topic, "schema_version": 1,
            "occurred_at": datetime.now(UTC).isoformat(), **payload}


class Frontend:
    def __init__(self, bootstrap: str) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap)

    async def __aenter__(self) -> "Frontend":
        await self.producer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.producer.stop()

    async def publish(self, topic: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a hand-written event; the envelope fields a frontend may leave out are filled in."""
        event = stamp_envelope(topic, payload)
        key = str(event[TOPICS[topic].key_field])
        await self.producer.send_and_wait(topic, json.dumps(event).encode(), key=key.encode())
        return event

    async def publish_raw(self, topic: str, value: bytes, key: bytes = b"raw") -> None:
        await self.producer.send_and_wait(topic, value, key=key)


class Tap:
    """Reads topics from the beginning and keeps every record, to wait for specific events."""

    def __init__(self, bootstrap: str, topics: list[str]) -> None:
        self.consumer = AIOKafkaConsumer(
            *topics, bootstrap_servers=bootstrap, group_id=f"tap-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest", enable_auto_commit=False,
        )
        self.records: list[ConsumerRecord] = []
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()

    async def __aenter__(self) -> "Tap":
        await self.consumer.start()
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task:
            self._task.cancel()
        await self.consumer.stop()

    async def _pump(self) -> None:
        async for record in self.consumer:
            self.records.append(record)
            self._arrived.set()

    def events(self, topic: str) -> list[dict[str, Any]]:
        found = []
        for record in self.records:
            if record.topic == topic:
                try:
                    found.append(json.loads(record.value))
                except ValueError:
                    found.append({"_raw": record.value})
        return found

    async def wait_for(self, condition: Callable[["Tap"], bool], timeout: float = 60.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not condition(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what or condition}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 0.5))
            except TimeoutError:
                pass

    async def settle(self, topic: str, quiet: float = 3.0, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Wait until `topic` has had no new event for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        count, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            now_count = len(self.events(topic))
            if now_count != count:
                count, since = now_count, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
            await asyncio.sleep(0.1)
        return self.events(topic)
