"""Kafka plumbing: the broker, consumer options, topic creation, raw publishing and the dead-letter middleware."""

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
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

from shared.contract import Event
from shared.contract.topics import all_topic_names, dlq_topic
from shared.metrics import PlumbingMetrics
from shared.outbox import PublishOutcome, Unpublishable
from shared.settings import ServiceSettings
from shared.store import AlreadyProcessed, DeadLetterLog

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


def record_size(key: bytes | None, value: bytes | None, headers: Iterable[tuple[str, bytes]] | Mapping[str, str]) -> int:
    """A record's size as the producer counts it against `max_request_size`: key, value and headers."""
    pairs = [(k, v.encode()) for k, v in headers.items()] if isinstance(headers, Mapping) else list(headers)
    return DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, pairs)


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


async def _raw_body(msg: Any) -> bytes:
    return msg.body


def event_router(
    settings: ServiceSettings, handlers: Mapping[type[Event], Handler], metrics: PlumbingMetrics | None = None
) -> KafkaRouter:
    """One consumer for all of a service's topics (one group join), dispatching on the topic.

    The topic decides the model, so `event_type` may be omitted by a frontend but never contradict it.
    """
    by_topic = {model.topic(): (model, handle) for model, handle in handlers.items()}
    router = KafkaRouter()

    @router.subscriber(*by_topic, decoder=_raw_body, include_in_schema=False, **consumer_options(settings))
    async def consume(msg: KafkaMessage) -> None:
        record = msg.raw_message
        model, handle = by_topic[record.topic]
        started = time.perf_counter()
        # The producer's trace (W3C headers) continues here and into the events this one causes.
        parent = propagate.extract({k: v.decode(errors="replace") for k, v in record.headers or ()})
        try:
            with tracer.start_as_current_span(
                f"{record.topic} process", context=parent, kind=SpanKind.CONSUMER,
                attributes={"messaging.system": "kafka", "messaging.destination.name": record.topic},
            ):
                await handle(model.model_validate_json(msg.body))
        finally:
            if metrics:
                metrics.handler_seconds.labels(record.topic).observe(time.perf_counter() - started)

    return router


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


def dead_letter_middleware(
    settings: ServiceSettings, dead_letters: DeadLetterLog, metrics: PlumbingMetrics
) -> type[BaseMiddleware]:
    """Bounded retries with backoff, then `<topic>.dlq` with the original bytes and headers plus the reason.

    A message over `max_message_bytes` goes there at once, unparsed; invalid input is not retried.
    The message is committed once it is handled or dead-lettered; if even the dead-letter publish
    fails, the error propagates and the message is redelivered. A message this service already
    dead-lettered (same topic, key and bytes, under any consumer group) is still tried, but when it
    fails again it is not published to the DLQ a second time: a replay adds no dead letters.
    """

    class DeadLetter(BaseMiddleware):
        async def consume_scope(self, call_next: Any, msg: Any) -> Any:
            record = msg.raw_message
            size = record_size(record.key, record.value, record.headers or ())
            if size > settings.max_message_bytes:
                bound = bind_message_context(record, None)
                try:
                    await self._dead_letter(
                        record, TOO_LARGE, f"{size} bytes; the limit is {settings.max_message_bytes}", 0
                    )
                finally:
                    structlog.contextvars.unbind_contextvars(*bound)
                return None
            bound = bind_message_context(record, msg.body)
            attempts = 0
            try:
                async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(settings.max_attempts),
                    wait=wait_exponential_jitter(multiplier=settings.retry_initial_s, max=5),
                    retry=retry_if_not_exception_type((ValidationError, AlreadyProcessed)),
                    reraise=True,
                ):
                    with attempt:
                        attempts += 1
                        return await call_next(msg)
            except AlreadyProcessed:
                log.info("event.duplicate_skipped")
                return None
            except Exception as exc:
                await self._dead_letter(record, classify(exc, record.value or b""), describe(exc), attempts)
                return None
            finally:
                structlog.contextvars.unbind_contextvars(*bound)

        async def _dead_letter(self, record: Any, reason: str, message: str, attempts: int) -> None:
            fingerprint = DeadLetterLog.fingerprint(record.topic, record.key, record.value)
            about = {"topic": record.topic, "error_type": reason, "consumer_group": settings.group_id,
                     "partition": record.partition, "offset": record.offset}
            if await dead_letters.seen(fingerprint):
                await dead_letters.record(fingerprint, **about)
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
            broker = self.context.get("broker")
            await broker.publish(value, dlq_topic(record.topic), key=record.key, headers=headers)
            await dead_letters.record(fingerprint, **about)
            metrics.dead_lettered.labels(record.topic, reason).inc()
            log.warning("event.dead_lettered", error_type=reason, error=message[:300], attempts=attempts)

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


def make_broker(
    settings: ServiceSettings, dead_letters: DeadLetterLog, metrics: PlumbingMetrics,
    middlewares: tuple[Any, ...] = (),
) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap,
        client_id=f"reciprocal-{settings.service}",
        middlewares=(*middlewares, dead_letter_middleware(settings, dead_letters, metrics)),
        # At or below the broker's own limit, so an oversize record fails here, before it is sent.
        max_request_size=settings.kafka_max_request_bytes,
        logger=None,
    )
