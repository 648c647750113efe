"""Operator tools over the raw topics: publish and tail JSON events, list and replay dead letters.

They speak only Kafka, so they work against any stack (embedded or real) given its bootstrap servers.
"""

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from reciprocal.wire import stamp_envelope
from shared.contract.topics import TOPICS, dlq_topic
from shared.messaging import JSON_HEADERS, describe

DLQ_SUFFIX = ".dlq"
DLQ_HEADER_PREFIX = "dlq-"
REPLAY_HEADER = "reciprocal-replay"
REPLAYED_FROM_HEADER = "reciprocal-replayed-from"
POSITION_IDS = uuid.UUID("5f0c3a9e-3d6b-4c1e-9a51-7d2b8f0e6c41")
"""Namespace of the event ids given to dead letters that carry none, from their place in the `.dlq` topic."""


class OperationError(Exception):
    """A request the tools refuse, with a message for the operator."""


def contract_topic(name: str) -> str:
    if name not in TOPICS:
        raise OperationError(f"unknown topic {name!r}; the contract's topics are: {', '.join(TOPICS)}")
    return name


def dlq_of(name: str) -> str:
    """`TOPIC` or `TOPIC.dlq` -> `TOPIC.dlq`, for a topic of the contract."""
    base = name.removesuffix(DLQ_SUFFIX)
    return dlq_topic(contract_topic(base))


# Reading ---------------------------------------------------------------------------------------------


async def read_records(
    bootstrap: str, topic: str, *, from_beginning: bool = True, idle_ms: int | None = 1500, limit: int | None = None
) -> AsyncIterator[ConsumerRecord]:
    """Records of `topic` as they arrive, read by a throwaway consumer that joins no group and commits nothing.

    It stops after `limit` records, or once no record has arrived for `idle_ms` (None: never).
    "Read up to the end" is decided by that idle timeout, not by `end_offsets`: Tansu computes
    "latest" per batch, so its end offsets and lag are wrong (see INFRA-NOTES).
    """
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest", fetch_max_wait_ms=100,
    )
    await consumer.start()
    try:
        seen = 0
        last = time.monotonic()
        while limit is None or seen < limit:
            batches = await consumer.getmany(timeout_ms=100)
            for records in batches.values():
                for record in records:
                    yield record
                    seen += 1
                    last = time.monotonic()
                    if limit is not None and seen >= limit:
                        return
            if idle_ms is not None and (time.monotonic() - last) * 1000 >= idle_ms:
                return
    finally:
        await consumer.stop()


def _json_object(value: bytes | None) -> dict[str, Any] | None:
    try:
        doc = json.loads(value or b"")
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def as_json_line(record: ConsumerRecord) -> dict[str, Any]:
    """What `tail` prints: the event itself, or, for a value that is not a JSON object, where it is and its text."""
    doc = _json_object(record.value)
    if doc is not None:
        return doc
    return {"_not_json": (record.value or b"").decode(errors="replace"), "_topic": record.topic,
            "_partition": record.partition, "_offset": record.offset}


# Dead letters ----------------------------------------------------------------------------------------


@dataclass
class DeadLetter:
    dlq_topic: str
    partition: int
    offset: int
    key: str | None
    event_id: str
    event_id_from_position: bool
    error_type: str | None
    error_message: str | None
    consumer_group: str | None
    attempts: int | None
    original_topic: str
    original_partition: int | None
    original_offset: int | None
    value: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)

    @property
    def position(self) -> str:
        return f"{self.partition}:{self.offset}"

    def summary(self) -> dict[str, Any]:
        doc = asdict(self)
        del doc["value"], doc["headers"]
        return doc


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def dead_letter_of(record: ConsumerRecord) -> DeadLetter:
    headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
    body = _json_object(record.value) or {}
    event_id = headers.get("event_id") or body.get("event_id")
    return DeadLetter(
        dlq_topic=record.topic, partition=record.partition, offset=record.offset,
        key=record.key.decode(errors="replace") if record.key is not None else None,
        event_id=str(event_id or position_event_id(record.topic, record.partition, record.offset)),
        event_id_from_position=not event_id,
        error_type=headers.get("dlq-error-type"), error_message=headers.get("dlq-error-message"),
        consumer_group=headers.get("dlq-consumer-group"), attempts=_int(headers.get("dlq-attempts")),
        original_topic=headers.get("dlq-original-topic") or record.topic.removesuffix(DLQ_SUFFIX),
        original_partition=_int(headers.get("dlq-original-partition")),
        original_offset=_int(headers.get("dlq-original-offset")),
        value=record.value or b"", headers=headers,
    )


def position_event_id(topic: str, partition: int, offset: int) -> str:
    """A dead letter without an event id gets one from its place, the same on every listing and replay, so
    that an operator can name it (and its fixed line), and a replayed copy is still de-duplicated."""
    return str(uuid.uuid5(POSITION_IDS, f"{topic}:{partition}:{offset}"))


async def list_dead_letters(bootstrap: str, topic: str, *, idle_ms: int = 1500) -> list[DeadLetter]:
    """Every dead letter of `topic` (or `topic.dlq`), from the beginning up to where the topic goes idle."""
    return [dead_letter_of(r) async for r in read_records(bootstrap, dlq_of(topic), idle_ms=idle_ms)]


def read_fixed(path: Path) -> dict[str, bytes]:
    """A JSON Lines file of corrected events, by `event_id`."""
    fixed: dict[str, bytes] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        doc = _json_object(line.encode())
        if doc is None or not doc.get("event_id"):
            raise OperationError(f"{path}:{number}: not a JSON object with an event_id")
        fixed[str(doc["event_id"])] = line.encode()
    return fixed


@dataclass
class ReplayOutcome:
    replayed: list[DeadLetter] = field(default_factory=list)
    still_invalid: list[tuple[DeadLetter, str]] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)


def select(letters: list[DeadLetter], ids: Iterable[str], *, everything: bool) -> tuple[list[DeadLetter], list[str]]:
    """The dead letters named by event id or `partition:offset` (or all), once per event id; and the ids not found."""
    wanted = list(ids)
    chosen = letters if everything else [d for d in letters if d.event_id in wanted or d.position in wanted]
    found = {d.event_id for d in chosen} | {d.position for d in chosen}
    unique: list[DeadLetter] = []
    seen: set[str] = set()
    for letter in chosen:
        if letter.event_id not in seen:
            seen.add(letter.event_id)
            unique.append(letter)
    return unique, [i for i in wanted if i not in found]


def replay_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    """The original headers without the dead-letter ones, marked as a replay of where it came from."""
    kept = {k: v for k, v in letter.headers.items() if not k.startswith(DLQ_HEADER_PREFIX)}
    kept["event_id"] = letter.event_id
    kept[REPLAY_HEADER] = "true"
    kept[REPLAYED_FROM_HEADER] = f"{letter.dlq_topic}:{letter.position}"
    return [(k, v.encode()) for k, v in kept.items()]


def with_event_id(value: bytes, event_id: str) -> bytes:
    """The value with `event_id` filled in if it is a JSON object without one (else unchanged)."""
    doc = _json_object(value)
    if doc is None or doc.get("event_id"):
        return value
    return json.dumps({"event_id": event_id, **doc}).encode()


def contract_error(topic: str, value: bytes) -> str | None:
    """Why `value` is not a valid event of `topic`, or None when it is."""
    try:
        TOPICS[topic].model.model_validate_json(value)
    except ValidationError as exc:
        return describe(exc)
    return None


async def replay_dead_letters(
    bootstrap: str, topic: str, ids: Iterable[str] = (), *, everything: bool = False,
    fixed: dict[str, bytes] | None = None, idle_ms: int = 1500,
) -> ReplayOutcome:
    """Republish the chosen dead letters (their original bytes, or the fixed value for their event id) to the
    original topic, with their key. A value that still fails the contract is not republished.

    Each takes effect once: the consumer's processed-event ledger de-duplicates on `event_id`, so
    replaying the same dead letter again is a no-op.
    """
    fixed = fixed or {}
    letters = await list_dead_letters(bootstrap, topic, idle_ms=idle_ms)
    chosen, missing = select(letters, ids, everything=everything)
    outcome = ReplayOutcome(not_found=missing)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for letter in chosen:
            value = with_event_id(fixed.get(letter.event_id, letter.value), letter.event_id)
            if (error := contract_error(letter.original_topic, value)) is not None:
                outcome.still_invalid.append((letter, error))
                continue
            key = letter.key.encode() if letter.key is not None else None
            await producer.send_and_wait(letter.original_topic, value, key=key, headers=replay_headers(letter))
            outcome.replayed.append(letter)
    finally:
        await producer.stop()
    return outcome


# Publishing ------------------------------------------------------------------------------------------


@dataclass
class BadLine:
    number: int
    error: str


@dataclass
class PublishOutcome:
    published: list[dict[str, Any]] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)


def prepare_line(topic: str, line: str) -> dict[str, Any]:
    """One JSON line as an event of `topic`: envelope stamped where missing, checked against the contract."""
    try:
        doc = json.loads(line)
    except ValueError as exc:
        raise OperationError(f"not JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(doc, dict):
        raise OperationError("not a JSON object")
    event = stamp_envelope(topic, doc)
    try:
        TOPICS[topic].model.model_validate(event)
    except ValidationError as exc:
        raise OperationError(describe(exc)) from exc
    return event


async def publish_file(bootstrap: str, topic: str, lines: Iterable[str]) -> PublishOutcome:
    """Publish every valid line, keyed by the topic's key field; report the others by line number."""
    contract_topic(topic)
    outcome = PublishOutcome()
    events: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            events.append(prepare_line(topic, line))
        except OperationError as exc:
            outcome.bad.append(BadLine(number, str(exc)))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        key_field = TOPICS[topic].key_field
        for event in events:
            headers = [(k, v.encode()) for k, v in {**JSON_HEADERS, "event_id": str(event["event_id"])}.items()]
            await producer.send_and_wait(topic, json.dumps(event).encode(), key=str(event[key_field]).encode(),
                                         headers=headers)
            outcome.published.append(event)
    finally:
        await producer.stop()
    return outcome

