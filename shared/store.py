"""A service's own MongoDB database (PyMongo async), and the unit of work that commits state,
the processed-event ledger entry and the outbox together in one transaction."""

import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import propagate
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from shared.contract import Event, topic_of

T = TypeVar("T")

LEDGER = "processed_events"
OUTBOX = "outbox"
OUTBOX_DEAD = "outbox_dead"
LEASES = "leases"
DEAD_LETTERS = "dead_letters"

LEDGER_KEY = ("consumer", "org_id", "event_id")
LEGACY_LEDGER_INDEX = "consumer_1_event_id_1"  # before the ledger was keyed by tenant
REREAD_LEDGER_S = 60.0
"""After a batch met an event it had applied before, how long batches read the ledger first (a replay
or redelivery brings many; otherwise the key's refusal saves the read)."""


def is_duplicate_on(exc: DuplicateKeyError, *fields: str) -> bool:
    """Whether `exc` was raised by the unique index on exactly `fields` (in index order)."""
    return tuple((exc.details or {}).get("keyPattern") or ()) == fields


def _duplicate_in_bulk(exc: BulkWriteError, *fields: str) -> bool:
    """Whether a bulk write failed on a duplicate of the unique index on exactly `fields`."""
    return any(e.get("code") == 11000 and tuple(e.get("keyPattern") or ()) == fields
               for e in (exc.details or {}).get("writeErrors", []))


def _first_of_each(causes: list[Event]) -> list[Event]:
    """The causes in order, each (tenant, event id) once."""
    seen: set[tuple[str | None, str]] = set()
    fresh = []
    for cause in causes:
        key = (cause.org_id, str(cause.event_id))
        if key not in seen:
            seen.add(key)
            fresh.append(cause)
    return fresh


@dataclass(frozen=True)
class Retention:
    """How long the plumbing keeps what it no longer needs, in days."""

    ledger_days: float = 30.0
    """Processed events: at least the topics' retention, or a redelivered old event would act again."""
    outbox_days: float = 7.0
    """Outbox rows marked published by an earlier version (the relay now deletes what it publishes)."""


async def ensure_ttl(collection: AsyncCollection[dict[str, Any]], field: str, days: float,
                     only: Mapping[str, Any] | None = None) -> None:
    """A TTL index that deletes documents `days` after their `field` (a date; documents without one
    stay), limited to those matching `only`. A changed period replaces the index."""
    name = f"ttl_{field}"
    options: dict[str, Any] = {"name": name, "expireAfterSeconds": int(days * 86_400)}
    if only:
        options["partialFilterExpression"] = dict(only)
    try:
        await collection.create_index([(field, 1)], **options)
    except OperationFailure as exc:
        if exc.code not in (85, 86):  # IndexOptionsConflict / IndexKeySpecsConflict: the period changed
            raise
        await collection.drop_index(name)
        await collection.create_index([(field, 1)], **options)


IN_CHUNK = 32
"""SecantusDB checks every document it reads against an `$in` list one value at a time, so one read by n
values costs n² comparisons: 60 ms for 200 values, 4 s for 2,000, 2 minutes for 10,000. `find_in` asks
in chunks of this many values (2,000 values: 0.28 s)."""


async def find_in(collection: AsyncCollection[dict[str, Any]], query: Mapping[str, Any], field: str,
                  values: Iterable[Any], projection: Mapping[str, Any] | None = None, *,
                  session: AsyncClientSession | None = None) -> list[dict[str, Any]]:
    """The documents matching `query` whose `field` is one of `values`, read `IN_CHUNK` values at a time;
    a document found by two chunks (an array field) is returned once when `_id` is projected."""
    wanted, docs, seen = sorted(set(values)), [], set()
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = {**query, field: {"$in": wanted[start:start + IN_CHUNK]}}
        for doc in await collection.find(chunk, projection, session=session).to_list(None):
            if "_id" in doc:
                if doc["_id"] in seen:
                    continue
                seen.add(doc["_id"])
            docs.append(doc)
    return docs


class Store:
    def __init__(self, url: str, database: str, **client_options: Any) -> None:
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            url, tz_aware=True, uuidRepresentation="standard", **client_options
        )
        self.db: AsyncDatabase[dict[str, Any]] = self.client[database]

    async def ping(self) -> bool:
        await self.client.admin.command("ping")
        return True

    async def ensure_plumbing_indexes(self, retention: Retention | None = None) -> None:
        """The ledger's and the outbox's indexes, and their retention (TTL indexes: the database
        deletes what has aged out, about once a minute)."""
        retention = retention or Retention()
        ledger = self.db[LEDGER]
        await ledger.create_index([(f, 1) for f in LEDGER_KEY], unique=True)
        if LEGACY_LEDGER_INDEX in await ledger.index_information():
            # Unique on consumer + event_id alone, it let one tenant's event id suppress another's.
            await ledger.drop_index(LEGACY_LEDGER_INDEX)
        await ensure_ttl(ledger, "processed_at", retention.ledger_days)
        await self.db[OUTBOX].create_index([("published", 1), ("_id", 1)])
        await ensure_ttl(self.db[OUTBOX], "published_at", retention.outbox_days, only={"published": True})

    async def close(self) -> None:
        await self.client.close()


CAUSE_TRACES: ContextVar[Mapping[str, otel_context.Context]] = ContextVar("cause_traces")
"""The trace context each consumed event of a batch arrived with, by event id (set by the consumer)."""


@dataclass
class Tx:
    """What a handler sees inside a unit of work: its database, the session, and emit()."""

    db: AsyncDatabase[dict[str, Any]]
    session: AsyncClientSession
    cause: Event | None
    emitted: list[Event] = field(default_factory=list)
    trace_headers: list[dict[str, str]] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        """Queue `event` for the outbox, with the current trace (W3C traceparent), if any."""
        headers: dict[str, str] = {}
        propagate.inject(headers)
        self.emitted.append(event)
        self.trace_headers.append(headers)

    def each(self, causes: list[Event]) -> Iterator[Event]:
        """The causes of a batch in order, each handled inside the trace it arrived with, so the events
        it causes continue that trace."""
        traces = CAUSE_TRACES.get({})
        for cause in causes:
            trace_context = traces.get(str(cause.event_id))
            if trace_context is None:  # not consumed in a batch: the current trace is its own
                yield cause
                continue
            token = otel_context.attach(trace_context)
            try:
                yield cause
            finally:
                otel_context.detach(token)

    def outbox_docs(self) -> list[dict[str, Any]]:
        return [outbox_doc(e, h) for e, h in zip(self.emitted, self.trace_headers, strict=True)]


class AlreadyProcessed(Exception):
    """This consumer has already applied this event; its effects must not happen twice."""


def outbox_doc(event: Event, trace_headers: dict[str, str]) -> dict[str, Any]:
    """The outbox row; the relay publishes `trace_headers` with it later."""
    return {
        "event_id": str(event.event_id),
        "topic": topic_of(event),
        "key": event.key,
        "value": event.model_dump_json().encode(),
        "correlation_id": event.correlation_id,
        "created_at": datetime.now(UTC),
        "published": False,
        **({"trace_headers": trace_headers} if trace_headers else {}),
    }


class UnitOfWork:
    """Runs a handler's work in one transaction with its ledger entry and outbox rows. `on_commit` (the
    relay's kick) is called after each commit that wrote outbox rows; one that emitted nothing has
    nothing to publish, and most of the scheduler's and the notifier's commits emit nothing."""

    def __init__(
        self, store: Store, consumer: str, on_commit: Callable[[], None] = lambda: None,
        on_db_time: Callable[[str, float], None] = lambda topic, seconds: None,
    ) -> None:
        self.store = store
        self.consumer = consumer
        self.on_commit = on_commit
        self.on_db_time = on_db_time
        # Ledger entries written before it was keyed by tenant have no org_id. Until start-up has
        # looked (detect_legacy_ledger), assume there may be some and check for them too.
        self.legacy_ledger = True
        self.read_ledger_until = 0.0  # time.monotonic(): until then batches read the ledger first

    async def detect_legacy_ledger(self) -> bool:
        """Whether this consumer's ledger still holds entries without org_id; if not, each event
        costs one ledger write and no extra read. Legacy entries are never written again."""
        legacy = await self.store.db[LEDGER].find_one({"consumer": self.consumer, "org_id": None}, {"_id": 1})
        self.legacy_ledger = legacy is not None
        return self.legacy_ledger

    async def run(self, cause: Event | None, work: Callable[[Tx], Awaitable[T]]) -> T:
        """Apply `work` once per cause event, with its emitted events, in one transaction.

        Raises AlreadyProcessed when the ledger already holds the cause event for its tenant.
        """

        emitted = False  # by the attempt that committed

        async def transaction(session: AsyncClientSession) -> T:
            nonlocal emitted
            emitted = False
            tx = Tx(self.store.db, session, cause)
            if cause is not None:
                await self._record(cause, session)
            result = await work(tx)
            emitted = await self._write_outbox(tx)
            return result

        started = time.perf_counter()
        try:
            async with self.store.client.start_session() as session:
                result = await session.with_transaction(transaction)
        except DuplicateKeyError as exc:
            if cause is not None and is_duplicate_on(exc, *LEDGER_KEY):
                raise AlreadyProcessed(str(cause.event_id)) from exc
            raise
        finally:
            # The whole transaction, commit and retries included; the handler's own code is inside it.
            self.on_db_time(topic_of(cause) if cause else "job", time.perf_counter() - started)
        if emitted:
            self.on_commit()
        return result

    async def run_batch(self, causes: list[Event], work: Callable[[Tx, list[Event]], Awaitable[T]]) -> T | None:
        """Apply `work` to the causes this consumer has not applied yet, in one transaction with one
        ledger `insert_many` and one outbox `insert_many`. `work` gets the new causes in their given
        order (a cause repeated in the batch counts once); None when there were none.

        The ledger is not read first: its unique key refuses a cause applied before, which aborts the
        transaction, and the batch is then run again after one ledger read per tenant and `IN_CHUNK`
        causes. For REREAD_LEDGER_S after such a repeat (a redelivery, a replay), batches read first.
        An event that another transaction records meanwhile fails the whole transaction (the caller
        then applies the causes one by one)."""
        if not causes:
            return None
        if self.legacy_ledger or time.monotonic() < self.read_ledger_until:
            return await self._run_batch(causes, work, read_ledger=True)
        try:
            return await self._run_batch(causes, work, read_ledger=False)
        except BulkWriteError as exc:
            if not _duplicate_in_bulk(exc, *LEDGER_KEY):
                raise
        self.read_ledger_until = time.monotonic() + REREAD_LEDGER_S
        return await self._run_batch(causes, work, read_ledger=True)

    async def _run_batch(self, causes: list[Event], work: Callable[[Tx, list[Event]], Awaitable[T]], *,
                         read_ledger: bool) -> T | None:
        topic = topic_of(causes[0])
        emitted = False  # by the attempt that committed

        async def transaction(session: AsyncClientSession) -> T | None:
            nonlocal emitted
            emitted = False
            fresh = await self._unprocessed(causes, session) if read_ledger else _first_of_each(causes)
            if not fresh:
                return None
            tx = Tx(self.store.db, session, None)
            now = datetime.now(UTC)
            await self.store.db[LEDGER].insert_many(
                [{**self._key(c), "topic": topic_of(c), "processed_at": now} for c in fresh],
                ordered=False, session=session,
            )
            result = await work(tx, fresh)
            emitted = await self._write_outbox(tx)
            return result

        started = time.perf_counter()
        try:
            async with self.store.client.start_session() as session:
                result = await session.with_transaction(transaction)
        finally:
            share = (time.perf_counter() - started) / len(causes)
            for _ in causes:  # per event, so that the histogram's count stays a count of events
                self.on_db_time(topic, share)
        if emitted:
            self.on_commit()
        return result

    async def _write_outbox(self, tx: Tx) -> bool:
        """The outbox rows of what `tx` emitted, in its transaction; whether there were any."""
        if not tx.emitted:
            return False
        await self.store.db[OUTBOX].insert_many(tx.outbox_docs(), session=tx.session)
        return True

    async def _unprocessed(self, causes: list[Event], session: AsyncClientSession) -> list[Event]:
        by_org: dict[str | None, set[str]] = {}
        for c in causes:
            by_org.setdefault(c.org_id, set()).add(str(c.event_id))
        if self.legacy_ledger:
            by_org[None] = {str(c.event_id) for c in causes}
        known: set[tuple[str | None, str]] = set()
        # One query per tenant, each an index range (consumer, org_id, then event_id in the list): with both
        # org_id and event_id as lists, SecantusDB's planner walked every entry of the consumer.
        for org_id, ids in by_org.items():
            known |= {(org_id, d["event_id"]) for d in await find_in(
                self.store.db[LEDGER], {"consumer": self.consumer, "org_id": org_id}, "event_id", ids,
                {"_id": 0, "event_id": 1}, session=session)}
        fresh: list[Event] = []
        for cause in causes:
            key = (cause.org_id, str(cause.event_id))
            if key in known or (None, key[1]) in known:
                continue
            known.add(key)
            fresh.append(cause)
        return fresh

    def _key(self, cause: Event) -> dict[str, Any]:
        return {"consumer": self.consumer, "org_id": cause.org_id, "event_id": str(cause.event_id)}

    async def _record(self, cause: Event, session: AsyncClientSession) -> None:
        key = self._key(cause)
        ledger = self.store.db[LEDGER]
        if self.legacy_ledger and await ledger.find_one({**key, "org_id": None}, {"_id": 1}, session=session):
            raise AlreadyProcessed(str(cause.event_id))
        await ledger.insert_one({**key, "topic": topic_of(cause), "processed_at": datetime.now(UTC)}, session=session)


class DeadLetterLog:
    """The consumed messages this service has dead-lettered, by topic, key and bytes, so that a replay
    under another consumer group does not dead-letter the same message again."""

    def __init__(self, store: Store) -> None:
        self.collection = store.db[DEAD_LETTERS]

    @staticmethod
    def fingerprint(topic: str, key: bytes | None, value: bytes | None) -> str:
        digest = hashlib.sha256()
        for part in (topic.encode(), key or b"", value or b""):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return digest.hexdigest()

    async def seen(self, fingerprint: str) -> bool:
        return await self.collection.find_one({"_id": fingerprint}, {"_id": 1}) is not None

    async def record(self, fingerprint: str, **about: Any) -> None:
        """Remember a dead letter once it has been published. A later failure of the same message is
        counted only in the metric: a replay changes nothing here."""
        await self.collection.update_one(
            {"_id": fingerprint}, {"$setOnInsert": {**about, "first_at": datetime.now(UTC)}}, upsert=True,
        )


async def forget_person(tx: Tx, org_id: str, person_id: str) -> int:
    """Erasure's part in the plumbing: delete the outbox dead letters, and the published outbox rows
    an earlier version kept (the relay now deletes what it publishes), that are about this person of
    this org (their event's JSON names both ids). These copies are kept only for operators, and must
    not outlive the person's data.
    Rows not yet published are left alone: they go out, and what they say was true when written.
    How many rows were deleted."""
    org, person = (json.dumps(v).encode() for v in (org_id, person_id))
    deleted = 0
    for name, query in ((OUTBOX, {"published": True}), (OUTBOX_DEAD, {})):
        collection = tx.db[name]
        ids = [doc["_id"] async for doc in collection.find(query, {"value": 1}, session=tx.session)
               if b'"org_id":' + org in (value := bytes(doc.get("value") or b"")) and person in value]
        if ids:
            deleted += (await collection.delete_many({"_id": {"$in": ids}}, session=tx.session)).deleted_count
    return deleted
