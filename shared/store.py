"""A service's own MongoDB database (PyMongo async), and the unit of work that commits state,
the processed-event ledger entry and the outbox together in one transaction."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.contract import Event, topic_of

T = TypeVar("T")

LEDGER = "processed_events"
OUTBOX = "outbox"
LEASES = "leases"


class Store:
    def __init__(self, url: str, database: str) -> None:
        self.client: AsyncMongoClient = AsyncMongoClient(url, tz_aware=True, uuidRepresentation="standard")
        self.db: AsyncDatabase = self.client[database]

    async def ping(self) -> bool:
        await self.client.admin.command("ping")
        return True

    async def ensure_plumbing_indexes(self) -> None:
        await self.db[LEDGER].create_index([("consumer", 1), ("event_id", 1)], unique=True)
        await self.db[OUTBOX].create_index([("published", 1), ("_id", 1)])

    async def close(self) -> None:
        await self.client.close()


@dataclass
class Tx:
    """What a handler sees inside a unit of work: its database, the session, and emit()."""

    db: AsyncDatabase
    session: AsyncClientSession
    cause: Event | None
    emitted: list[Event] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        self.emitted.append(event)


class AlreadyProcessed(Exception):
    """This consumer has already applied this event; its effects must not happen twice."""


def outbox_doc(event: Event) -> dict[str, Any]:
    return {
        "event_id": str(event.event_id),
        "topic": topic_of(event),
        "key": event.key,
        "value": event.model_dump_json().encode(),
        "correlation_id": event.correlation_id,
        "created_at": datetime.now(UTC),
        "published": False,
    }


class UnitOfWork:
    def __init__(self, store: Store, consumer: str, on_commit: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.consumer = consumer
        self.on_commit = on_commit

    async def run(self, cause: Event | None, work: Callable[[Tx], Awaitable[T]]) -> T:
        """Apply `work` once per cause event, with its emitted events, in one transaction.

        Raises AlreadyProcessed when the ledger already holds the cause event.
        """

        async def transaction(session: AsyncClientSession) -> T:
            tx = Tx(self.store.db, session, cause)
            if cause is not None:
                await self.store.db[LEDGER].insert_one(
                    {
                        "consumer": self.consumer,
                        "event_id": str(cause.event_id),
                        "topic": topic_of(cause),
                        "processed_at": datetime.now(UTC),
                    },
                    session=session,
                )
            result = await work(tx)
            if tx.emitted:
                await self.store.db[OUTBOX].insert_many([outbox_doc(e) for e in tx.emitted], session=session)
            return result

        try:
            async with self.store.client.start_session() as session:
                result = await session.with_transaction(transaction)
        except DuplicateKeyError as exc:
            if LEDGER in str(exc) or "event_id" in str(exc):
                raise AlreadyProcessed(str(cause.event_id) if cause else "") from exc
            raise
        self.on_commit()
        return result
