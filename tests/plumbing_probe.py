"""A throwaway service for the plumbing tests: the real runtime (create_app: broker, dead-letter
middleware, unit of work, outbox relay, /readyz, /metrics) on a topic of its own, in this process,
against the session's real broker and database."""

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from fastapi import FastAPI

from shared.contract import Event
from shared.contract.topics import dlq_topic
from shared.messaging import create_topics
from shared.runtime import ServiceSpec, create_app
from shared.settings import ServiceSettings
from shared.store import Tx, UnitOfWork

EFFECTS = "effects"


@dataclass(frozen=True)
class ProbeDependencies:
    uow: UnitOfWork


def probe_event(topic: str) -> type[Event]:
    class Probe(Event):
        key_field: ClassVar[str] = "item"
        event_type: Literal[topic] = topic  # type: ignore[valid-type]
        item: str
        blob: str = ""
        echo: bool = False

    return Probe


@dataclass
class Probe:
    """One probe service: its topic, its handler's behaviour, and what it saw."""

    infrastructure: Any
    topic: str = field(default_factory=lambda: f"plumbing-probe-{uuid.uuid4().hex[:8]}")
    database: str = field(default_factory=lambda: f"probe_{uuid.uuid4().hex[:8]}")
    broken: set[str] = field(default_factory=set)
    handled: list[str] = field(default_factory=list)
    batched: bool = False
    """Consume as a batch handler (one unit of work per batch) instead of one event at a time."""
    batches: list[list[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.model = probe_event(self.topic)
        self.echo_model = probe_event(f"{self.topic}-echo")

    async def create_topics(self) -> None:
        await create_topics(self.infrastructure.kafka_bootstrap, 1,
                            [self.topic, dlq_topic(self.topic), self.echo_model.topic()])

    def settings(self, **overrides: Any) -> ServiceSettings:
        return ServiceSettings(
            service="probe", kafka_bootstrap=self.infrastructure.kafka_bootstrap,
            mongo_url=self.infrastructure.mongo_url, mongo_db=self.database, max_attempts=2,
            retry_initial_s=0.05, outbox_poll_s=0.1, instance_id=f"probe-{uuid.uuid4().hex[:6]}", **overrides,
        )

    def spec(self) -> ServiceSpec:
        """Declared as the services declare themselves: a handler table whose dependencies the runtime binds."""
        async def handle(event: Any, uow: UnitOfWork) -> None:
            self.handled.append(event.item)
            if event.item in self.broken:
                raise RuntimeError("the handler cannot take this one yet")

            async def work(tx: Tx) -> None:
                await tx.db[EFFECTS].insert_one({"item": event.item}, session=tx.session)
                if event.echo:
                    tx.emit(event.caused(self.echo_model, item=event.item))

            await uow.run(event, work)

        async def handle_batch(events: list[Any], uow: UnitOfWork) -> None:
            self.batches.append([e.item for e in events])
            self.handled.extend(e.item for e in events)
            if self.broken & {e.item for e in events}:
                raise RuntimeError("the handler cannot take one of these yet")

            async def work(tx: Tx, fresh: list[Any]) -> None:
                await tx.db[EFFECTS].insert_many([{"item": e.item} for e in fresh], session=tx.session)
                for event in tx.each(fresh):
                    if event.echo:
                        tx.emit(event.caused(self.echo_model, item=event.item))

            await uow.run_batch(events, work)

        return ServiceSpec(name="probe", description="plumbing test probe", settings_cls=ServiceSettings,
                           bootstrap=lambda ctx: ProbeDependencies(ctx.uow),
                           handlers={self.model: handle_batch if self.batched else handle}, publishes=())

    @contextlib.asynccontextmanager
    async def running(self, **overrides: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        app = create_app(self.spec(), self.settings(**overrides))
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as http:
                yield app, http

    def event(self, item: str, **fields: Any) -> bytes:
        return self.model(org_id="probe-org", item=item, **fields).model_dump_json().encode()

    async def publish(self, *messages: tuple[bytes, bytes], headers: list[tuple[str, bytes]] | None = None) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.infrastructure.kafka_bootstrap,
                                    max_request_size=4 * 1024 * 1024)
        await producer.start()
        try:
            for key, value in messages:
                await producer.send_and_wait(self.topic, value, key=key, headers=headers)
        finally:
            await producer.stop()

    async def effects_in_order(self, app: FastAPI) -> list[str]:
        docs = await app.state.ctx.store.db[EFFECTS].find({}).sort("_id", 1).to_list(None)
        return [d["item"] for d in docs]

    async def effects(self, app: FastAPI) -> list[str]:
        docs = await app.state.ctx.store.db[EFFECTS].find({}).to_list(None)
        return sorted(d["item"] for d in docs)


async def read_topic(bootstrap: str, topic: str, *, quiet: float = 1.5, timeout: float = 30.0) -> list[ConsumerRecord]:
    """Every record of `topic` from the start, once none has arrived for `quiet` seconds
    (the embedded broker's end offsets cannot be trusted)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"read-{uuid.uuid4().hex[:8]}",
                                auto_offset_reset="earliest", enable_auto_commit=False, fetch_max_wait_ms=50,
                                max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        last = time.monotonic()
        while time.monotonic() - last < quiet and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for part in batch.values():
                records.extend(part)
                last = time.monotonic()
    finally:
        await consumer.stop()
    return records


def headers_of(record: ConsumerRecord) -> dict[str, str]:
    return {k: v.decode() for k, v in record.headers}


async def eventually(condition: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def item_of(record: ConsumerRecord) -> str | None:
    try:
        return json.loads(record.value).get("item")
    except ValueError:
        return None
