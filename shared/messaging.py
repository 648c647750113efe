"""Kafka plumbing: the broker, consumer options, topic creation, raw publishing and the dead-letter middleware."""

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream._internal.middlewares import BaseMiddleware
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError
from tenacity import AsyncRetrying, retry_if_not_exception_type, stop_after_attempt, wait_exponential_jitter

from shared.contract import Event
from shared.contract.topics import all_topic_names, dlq_topic
from shared.settings import ServiceSettings
from shared.store import AlreadyProcessed

log = structlog.get_logger()

JSON_HEADERS = {"content-type": "application/json"}


def consumer_options(settings: ServiceSettings) -> dict[str, Any]:
    """At-least-once consumption: an explicit group, and commit only after the handler finished."""
    return {
        "group_id": settings.group_id,
        "auto_offset_reset": "earliest",
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "max_poll_interval_ms": 300_000,
        "heartbeat_interval_ms": 300,
        "session_timeout_ms": 6_000,
        "rebalance_timeout_ms": 10_000,
    }


async def publish_many(broker: KafkaBroker, docs: list[dict[str, Any]]) -> None:
    """Publish outbox documents in order; wait for every acknowledgement."""
    pending = [
        await broker.publish(
            bytes(doc["value"]),
            doc["topic"],
            key=doc["key"].encode(),
            headers={**JSON_HEADERS, "event_id": doc["event_id"]},
            correlation_id=doc.get("correlation_id") or doc["event_id"],
            no_confirm=True,
        )
        for doc in docs
    ]
    await asyncio.gather(*pending)


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


def event_router(settings: ServiceSettings, handlers: Mapping[type[Event], Handler]) -> KafkaRouter:
    """One consumer for all of a service's topics (one group join), dispatching on the topic.

    The topic decides the model, so `event_type` may be omitted by a frontend but never contradict it.
    """
    by_topic = {model.topic(): (model, handle) for model, handle in handlers.items()}
    router = KafkaRouter()

    @router.subscriber(*by_topic, decoder=_raw_body, include_in_schema=False, **consumer_options(settings))
    async def consume(msg: KafkaMessage) -> None:
        model, handle = by_topic[msg.raw_message.topic]
        await handle(model.model_validate_json(msg.body))

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


def dead_letter_middleware(settings: ServiceSettings) -> type[BaseMiddleware]:
    """Bounded retries with backoff, then `<topic>.dlq` with the original bytes and headers plus the reason.

    Invalid input is not retried. The message is committed once it is handled or dead-lettered;
    if even the dead-letter publish fails, the error propagates and the message is redelivered.
    """

    class DeadLetter(BaseMiddleware):
        async def consume_scope(self, call_next: Any, msg: Any) -> Any:
            record = msg.raw_message
            bound = bind_message_context(record, msg.body)
            attempts = 0
            try:
                async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(settings.max_attempts),
                    wait=wait_exponential_jitter(initial=settings.retry_initial_s, max=5),
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
                await self._dead_letter(record, exc, attempts)
                return None
            finally:
                structlog.contextvars.unbind_contextvars(*bound)

        async def _dead_letter(self, record: Any, exc: Exception, attempts: int) -> None:
            reason = classify(exc, record.value or b"")
            message = describe(exc)
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
            broker = self.context.get("broker")
            await broker.publish(record.value or b"", dlq_topic(record.topic), key=record.key, headers=headers)
            log.warning("event.dead_lettered", error_type=reason, error=message[:300], attempts=attempts)

    return DeadLetter


def bind_message_context(record: Any, body: bytes) -> list[str]:
    fields: dict[str, Any] = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
    try:
        data = json.loads(body)
        if isinstance(data, dict):
            fields["event_id"] = data.get("event_id")
            fields["correlation_id"] = data.get("correlation_id") or data.get("event_id")
            fields["org_id"] = data.get("org_id")
    except ValueError:
        pass
    structlog.contextvars.bind_contextvars(**fields)
    return list(fields)


def make_broker(settings: ServiceSettings, middlewares: tuple[Any, ...] = ()) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap,
        client_id=f"reciprocal-{settings.service}",
        middlewares=(*middlewares, dead_letter_middleware(settings)),
        logger=None,
    )

