"""Kafka plumbing: the broker, consumer options, topic creation, raw publishing, the two consumer lanes
(interactive, one message at a time; bulk, in batches) and the dead letters."""

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTimestampError,
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAlreadyExistsError,
    UnsupportedForMessageFormatError,
)
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from faststream import AckPolicy, BaseMiddleware
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from pydantic import ValidationError
from tenacity import AsyncRetrying, retry_if_not_exception_type, stop_after_attempt, wait_exponential_jitter

from shared.bulk_lane import prompt
from shared.contract import Event
from shared.contract.topics import all_topic_names, dlq_topic, is_interactive
from shared.metrics import PlumbingMetrics
from shared.outbox import PublishOutcome, Unpublishable
from shared.settings import ServiceSettings
from shared.store import CAUSE_TRACES, AlreadyProcessed, DeadLetterLog

log = structlog.get_logger()
tracer = trace.get_tracer("reciprocal.messaging")

JSON_HEADERS = {"content-type": "application/json"}

TOO_LARGE = "too_large"
# What the broker says about the record itself: sending it again cannot succeed.
NEVER_PUBLISHABLE: dict[type[Exception], str] = {
    MessageSizeTooLargeError: TOO_LARGE,
    RecordListTooLargeError: TOO_LARGE,
    RecordTooLargeError: TOO_LARGE,
    CorruptRecordException: "rejected",
    InvalidTopicError: "rejected",
    InvalidTimestampError: "rejected",
    UnsupportedForMessageFormatError: "rejected",
}


def consumer_options(settings: ServiceSettings) -> dict[str, Any]:
    """At-least-once consumption: an explicit group, and commit only after the handler finished.

    A record that arrives while the broker holds a fetch often waits until the fetch returns, up to
    `fetch_max_wait_ms`: aiokafka's 500 ms default was most of a hop's latency."""
    return {
        "group_id": settings.group_id,
        "auto_offset_reset": "earliest",
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "max_poll_interval_ms": 300_000,
        "heartbeat_interval_ms": 300,
        "session_timeout_ms": 6_000,
        "rebalance_timeout_ms": 10_000,
        "fetch_min_bytes": 1,
        "fetch_max_wait_ms": settings.fetch_max_wait_ms,
    }


def record_size(
    key: bytes | None, value: bytes | None, headers: Iterable[tuple[str, bytes]] | Mapping[str, str]
) -> int:
    """A record's size as the producer counts it against `max_request_size`: key, value and headers."""
    pairs = [(k, v.encode()) for k, v in headers.items()] if isinstance(headers, Mapping) else list(headers)
    size: int = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, pairs)
    return size


def as_outcome(exc: Exception) -> Exception:
    """Unpublishable when the broker refused the record for what it is; else the (transient) error."""
    for kind, reason in NEVER_PUBLISHABLE.items():
        if isinstance(exc, kind):
            return Unpublishable(reason, f"{type(exc).__name__}: {exc}"[:2000])
    return exc


async def publish_many(broker: KafkaBroker, docs: list[dict[str, Any]], max_bytes: int) -> list[PublishOutcome]:
    """Publish outbox documents in order and wait for every acknowledgement; one outcome per document.

    A document over `max_bytes` (the limit every consumer applies on ingress) is not sent at all."""
    sent: list[asyncio.Future[Any] | Exception] = []
    for doc in docs:
        key, value = doc["key"].encode(), bytes(doc["value"])
        correlation_id = doc.get("correlation_id") or doc["event_id"]
        headers = {**JSON_HEADERS, **doc.get("trace_headers", {}), "event_id": doc["event_id"]}
        size = record_size(key, value, {**headers, "correlation_id": correlation_id})
        if size > max_bytes:
            sent.append(Unpublishable(TOO_LARGE, f"{size} bytes; consumers accept at most {max_bytes}"))
            continue
        try:
            sent.append(await broker.publish(
                value, doc["topic"], key=key, headers=headers, correlation_id=correlation_id, no_confirm=True
            ))
        except Exception as exc:
            sent.append(as_outcome(exc))
    outcomes: list[PublishOutcome] = []
    for item in sent:
        if isinstance(item, Exception):
            outcomes.append(item)
            continue
        try:
            await item
            outcomes.append(None)
        except Exception as exc:
            outcomes.append(as_outcome(exc))
    return outcomes


async def create_topics(bootstrap: str, partitions: int = 3, names: list[str] | None = None) -> list[str]:
    """Create topics explicitly (Tansu's auto-created topics get 4 partitions). Returns those created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [n for n in (names or all_topic_names()) if n not in existing]
        for name in wanted:
            try:
                await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
            except TopicAlreadyExistsError:
                pass
        return wanted
    finally:
        await admin.close()


Handler = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class Batched:
    """A handler that takes several events of one topic at once, in offset order per partition, and
    applies them in one unit of work (`UnitOfWork.run_batch`). It also gets one-event batches: when a
    batch fails, and on the interactive lane."""

    handle: Callable[[list[Any]], Awaitable[None]]


AnyHandler = Handler | Batched


async def _raw_body(msg: Any) -> Any:
    return msg.body


def event_router(
    settings: ServiceSettings, handlers: Mapping[type[Event], AnyHandler], ingress: "Ingress",
    metrics: PlumbingMetrics | None = None,
) -> KafkaRouter:
    """Two consumers in the service's group, dispatching on the topic: one for the interactive topics
    (a person waits on them), one message at a time, and one for the bulk topics, in batches, so a
    bulk backlog never delays a click.

    The topic decides the model, so `event_type` may be omitted by a frontend but never contradict it.
    """
    by_topic = {model.topic(): (model, handle) for model, handle in handlers.items()}
    interactive = [t for t in by_topic if is_interactive(t)]
    bulk = [t for t in by_topic if not is_interactive(t)]
    router = KafkaRouter()

    def observe(topic: str, seconds: float, count: int = 1) -> None:
        if metrics:
            for _ in range(count):  # per event, so that the histogram's count stays a count of events
                metrics.handler_seconds.labels(topic).observe(seconds / count)

    async def handle_one(record: Any, event: Event) -> None:
        _, handle = by_topic[record.topic]
        started = time.perf_counter()
        try:
            with tracer.start_as_current_span(
                f"{record.topic} process", context=trace_context_of(record), kind=SpanKind.CONSUMER,
                attributes={"messaging.system": "kafka", "messaging.destination.name": record.topic},
            ):
                await (handle.handle([event]) if isinstance(handle, Batched) else handle(event))
        finally:
            observe(record.topic, time.perf_counter() - started)

    async def parse_and_handle(record: Any) -> None:
        await handle_one(record, by_topic[record.topic][0].model_validate_json(record.value or b""))

    if interactive:
        # FastStream's subscriber decorator is untyped; the function it registers keeps its signature.
        @router.subscriber(  # type: ignore[untyped-decorator]
            *interactive, decoder=_raw_body, include_in_schema=False, **consumer_options(settings))
        async def consume(msg: KafkaMessage) -> None:
            await parse_and_handle(msg.raw_message)

    async def consume_topic(topic: str, records: list[Any]) -> None:
        model, handle = by_topic[topic]
        if not isinstance(handle, Batched):
            for record in records:
                await ingress.guarded(record, functools.partial(parse_and_handle, record))
            return
        accepted: list[tuple[Any, Event]] = []
        for record in records:
            if await ingress.refused_oversize(record):
                continue
            try:
                accepted.append((record, model.model_validate_json(record.value or b"")))
            except ValidationError as exc:
                await ingress.refuse_invalid(record, exc)
        if not accepted:
            return
        events = [event for _, event in accepted]
        started = time.perf_counter()
        token = CAUSE_TRACES.set({str(e.event_id): trace_context_of(r) for r, e in accepted})
        try:
            with tracer.start_as_current_span(
                f"{topic} process", kind=SpanKind.CONSUMER,
                links=links_to(r for r, _ in accepted),
                attributes={"messaging.system": "kafka", "messaging.destination.name": topic,
                            "messaging.batch.message_count": len(events)},
            ):
                await handle.handle(events)
            observe(topic, time.perf_counter() - started, len(events))
            return
        except Exception as exc:
            log.warning("batch.failed_one_by_one", topic=topic, records=len(events), error_type=type(exc).__name__,
                        error=str(exc)[:300])
        finally:
            CAUSE_TRACES.reset(token)
        for record, event in accepted:  # today's path: bounded retries, then a dead letter of its own
            await ingress.guarded(record, functools.partial(handle_one, record, event))

    if bulk:
        @prompt(router.subscriber(  # type: ignore[untyped-decorator]  # FastStream's decorator is untyped
            *bulk, batch=True, max_records=settings.batch_max_records, batch_timeout_ms=settings.batch_max_wait_ms,
            decoder=_raw_body, include_in_schema=False, **consumer_options(settings),
        ), linger_ms=settings.batch_linger_ms)
        async def consume_batch(msg: KafkaMessage) -> None:
            by_record_topic: dict[str, list[Any]] = {}
            for record in msg.raw_message:  # offset order within each partition
                by_record_topic.setdefault(record.topic, []).append(record)
            for topic, records in by_record_topic.items():
                await consume_topic(topic, records)

    return router


def links_to(records: Iterable[Any]) -> list[trace.Link]:
    spans = (trace.get_current_span(trace_context_of(r)).get_span_context() for r in records)
    return [trace.Link(span) for span in spans if span.is_valid]


def trace_context_of(record: Any) -> Any:
    """The producer's trace (W3C headers): it continues here and into the events this one causes."""
    return propagate.extract({k: v.decode(errors="replace") for k, v in record.headers or ()})


def classify(exc: BaseException, body: bytes) -> str:
    if isinstance(exc, ValidationError):
        try:
            json.loads(body)
        except ValueError:
            return "not_json"
        return "schema_invalid"
    return type(exc).__name__


def describe(exc: BaseException) -> str:
    """The error without the offending input values, which may hold personal data."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors(include_input=False)
        )[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


class Ingress:
    """What happens to each consumed record that cannot be handled: bounded retries with backoff, then
    `<topic>.dlq` with the original bytes and headers plus the reason.

    A message over `max_message_bytes` goes there at once, unparsed; invalid input is not retried.
    The message is committed once it is handled or dead-lettered; if even the dead-letter publish
    fails, the error propagates and the message is redelivered. A message this service already
    dead-lettered (same topic, key and bytes, under any consumer group) is still tried, but when it
    fails again it is not published to the DLQ a second time: a replay adds no dead letters.
    """

    def __init__(self, settings: ServiceSettings, dead_letters: DeadLetterLog, metrics: PlumbingMetrics) -> None:
        self.settings = settings
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.broker: KafkaBroker | None = None  # set by make_broker

    async def refused_oversize(self, record: Any) -> bool:
        """Dead-letters `record` unparsed if it is over the limit; whether it did."""
        size = record_size(record.key, record.value, record.headers or ())
        if size <= self.settings.max_message_bytes:
            return False
        bound = bind_message_context(record, None)
        try:
            limit = self.settings.max_message_bytes
            await self.dead_letter(record, TOO_LARGE, f"{size} bytes; the limit is {limit}", 0)
        finally:
            structlog.contextvars.unbind_contextvars(*bound)
        return True

    async def refuse_invalid(self, record: Any, exc: ValidationError) -> None:
        bound = bind_message_context(record, record.value)
        try:
            await self.dead_letter(record, classify(exc, record.value or b""), describe(exc), 1)
        finally:
            structlog.contextvars.unbind_contextvars(*bound)

    async def guarded(self, record: Any, call: Callable[[], Awaitable[Any]]) -> Any:
        """`call` (which handles `record`) with the retries, then the dead letter."""
        if await self.refused_oversize(record):
            return None
        bound = bind_message_context(record, record.value)
        attempts = 0
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.settings.max_attempts),
                wait=wait_exponential_jitter(multiplier=self.settings.retry_initial_s, max=5),
                retry=retry_if_not_exception_type((ValidationError, AlreadyProcessed)),
                reraise=True,
            ):
                with attempt:
                    attempts += 1
                    return await call()
        except AlreadyProcessed:
            log.info("event.duplicate_skipped")
            return None
        except Exception as exc:
            await self.dead_letter(record, classify(exc, record.value or b""), describe(exc), attempts)
            return None
        finally:
            structlog.contextvars.unbind_contextvars(*bound)

    async def dead_letter(self, record: Any, reason: str, message: str, attempts: int) -> None:
        settings, metrics = self.settings, self.metrics
        fingerprint = DeadLetterLog.fingerprint(record.topic, record.key, record.value)
        about = {"topic": record.topic, "error_type": reason, "consumer_group": settings.group_id,
                 "partition": record.partition, "offset": record.offset}
        if await self.dead_letters.seen(fingerprint):
            metrics.dead_letters_repeated.labels(record.topic, reason).inc()
            log.warning("event.dead_letter_repeated", error_type=reason, error=message[:300], attempts=attempts)
            return
        value = record.value or b""
        headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
        headers.update(
            {
                "dlq-error-type": reason,
                "dlq-error-message": message,
                "dlq-consumer-group": settings.group_id,
                "dlq-attempts": str(attempts),
                "dlq-original-topic": record.topic,
                "dlq-original-partition": str(record.partition),
                "dlq-original-offset": str(record.offset),
            }
        )
        if record_size(record.key, value, headers) > settings.kafka_max_request_bytes:
            # Too large even for the DLQ: say where the original is instead of copying it.
            headers["dlq-value-omitted-bytes"] = str(len(value))
            value = b""
        assert self.broker is not None, "make_broker sets the broker"
        await self.broker.publish(value, dlq_topic(record.topic), key=record.key, headers=headers)
        await self.dead_letters.record(fingerprint, **about)
        metrics.dead_lettered.labels(record.topic, reason).inc()
        log.warning("event.dead_lettered", error_type=reason, error=message[:300], attempts=attempts)

    def middleware(self) -> type[BaseMiddleware]:
        """Guards each message of a one-at-a-time subscriber; a batch subscriber guards its records itself."""
        ingress = self

        class DeadLetter(BaseMiddleware):
            async def consume_scope(self, call_next: Any, msg: Any) -> Any:
                if isinstance(msg.raw_message, tuple):
                    return await call_next(msg)
                return await ingress.guarded(msg.raw_message, lambda: call_next(msg))

        return DeadLetter


def bind_message_context(record: Any, body: bytes | None) -> list[str]:
    """Log context for one message; `body` None: do not parse it (too large)."""
    fields: dict[str, Any] = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
    try:
        data = json.loads(body) if body is not None else None
        if isinstance(data, dict):
            fields["event_id"] = data.get("event_id")
            fields["correlation_id"] = data.get("correlation_id") or data.get("event_id")
            fields["org_id"] = data.get("org_id")
    except ValueError:
        pass
    structlog.contextvars.bind_contextvars(**fields)
    return list(fields)


def make_broker(settings: ServiceSettings, ingress: Ingress, middlewares: tuple[Any, ...] = ()) -> KafkaBroker:
    broker = KafkaBroker(
        settings.kafka_bootstrap,
        client_id=f"reciprocal-{settings.service}",
        middlewares=(*middlewares, ingress.middleware()),
        # At or below the broker's own limit, so an oversize record fails here, before it is sent.
        max_request_size=settings.kafka_max_request_bytes,
        logger=None,
    )
    ingress.broker = broker
    return broker
