"""The topic registry marks the interactive topics once; every service's router consumes them in a
lane of their own, one at a time, and everything else in bounded batches."""

import asyncio
from typing import Any

import pytest
from faststream.kafka import KafkaBroker

from shared.bulk_lane import PromptBatchSubscriber, prompt
from shared.contract import TOPICS, MatchResponded, ProfileChanged, ProfileSubmitted, ProgramConfigured
from shared.contract.topics import is_interactive
from shared.messaging import Batched, Ingress, event_router
from shared.settings import ServiceSettings


async def handle(event: object) -> None: ...


def test_the_interactive_topics_are_the_ones_a_person_waits_on():
    assert {name for name, topic in TOPICS.items() if topic.interactive} == {
        "matches.responded", "sessions.checked-in", "partnerships.end-requested"}
    assert not is_interactive("profiles.changed") and not is_interactive("no.such-topic")


def test_interactive_topics_get_their_own_consumer_and_the_rest_are_consumed_in_batches():
    settings = ServiceSettings(service="lanes", batch_max_records=50, batch_max_wait_ms=7)
    router = event_router(
        settings,
        {MatchResponded: handle, ProfileChanged: Batched(handle), ProgramConfigured: handle,
         ProfileSubmitted: Batched(handle)},
        Ingress(settings, None, None),  # type: ignore[arg-type]
    )
    lanes = {frozenset(sub.topic_names): sub for sub in router.subscribers}
    assert set(lanes) == {frozenset({"matches.responded"}),
                          frozenset({"profiles.changed", "programs.configured", "profiles.submitted"})}
    bulk = lanes[frozenset({"profiles.changed", "programs.configured", "profiles.submitted"})]
    assert (bulk.max_records, bulk.batch_timeout_ms) == (50, 7)
    assert not hasattr(lanes[frozenset({"matches.responded"})], "max_records")


def test_a_service_without_interactive_topics_has_one_consumer():
    settings = ServiceSettings(service="lanes")
    router = event_router(settings, {ProfileChanged: handle}, Ingress(settings, None, None))  # type: ignore[arg-type]
    assert [sub.topic_names for sub in router.subscribers] == [["profiles.changed"]]


class EmptyThenRecords:
    """A consumer whose polls come back empty after waiting their whole timeout, then with records."""

    def __init__(self, empty_polls: int) -> None:
        self.empty_polls = empty_polls
        self.polls: list[int] = []

    async def getmany(self, timeout_ms: int, max_records: int | None) -> dict[str, list[str]]:
        self.polls.append(timeout_ms)
        if len(self.polls) <= self.empty_polls:
            await asyncio.sleep(timeout_ms / 1000)
            return {}
        return {"tp0": ["r1", "r2"], "tp1": ["r3"]}


def bulk_lane(wait_ms: int) -> Any:
    settings = ServiceSettings(service="lanes", batch_max_wait_ms=wait_ms)
    router = event_router(settings, {ProfileChanged: Batched(handle)}, Ingress(settings, None, None))  # type: ignore[arg-type]
    [subscriber] = router.subscribers
    return subscriber


async def test_the_bulk_lane_polls_again_at_once_after_an_empty_poll(monkeypatch: pytest.MonkeyPatch):
    """FastStream's batch subscriber sleeps `batch_timeout_ms` after an empty poll, which has itself
    waited that long; a record arriving during the sleep would wait it out."""
    subscriber = bulk_lane(wait_ms=30)
    assert isinstance(subscriber, PromptBatchSubscriber)
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        await real_sleep(seconds)

    consumer = EmptyThenRecords(empty_polls=1)
    monkeypatch.setattr("shared.bulk_lane.sleep", sleep)
    assert await subscriber.get_msg(consumer) == ()
    assert pauses == []  # the poll waited its 30 ms; no sleep after it
    assert await subscriber.get_msg(consumer) == ("r1", "r2", "r3")
    assert consumer.polls == [30, 30]


async def test_a_poll_that_comes_back_empty_early_pauses_for_the_rest_so_the_lane_never_spins(
    monkeypatch: pytest.MonkeyPatch,
):
    subscriber = bulk_lane(wait_ms=200)
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    class ClosingConsumer:
        async def getmany(self, timeout_ms: int, max_records: int | None) -> dict[str, list[str]]:
            return {}

    monkeypatch.setattr("shared.bulk_lane.sleep", sleep)
    assert await subscriber.get_msg(ClosingConsumer()) == ()
    assert len(pauses) == 1 and 0.15 < pauses[0] <= 0.2


def test_only_a_batch_subscriber_is_made_prompt():
    settings = ServiceSettings(service="lanes")
    router = event_router(settings, {MatchResponded: handle}, Ingress(settings, None, None))  # type: ignore[arg-type]
    [interactive] = router.subscribers
    with pytest.raises(TypeError, match="not a batch subscriber"):
        prompt(interactive)


def test_the_broker_keeps_the_prompt_subscriber_when_it_includes_the_router():
    settings = ServiceSettings(service="lanes")
    broker = KafkaBroker("127.0.0.1:9")  # never started
    broker.include_router(event_router(settings, {ProfileChanged: Batched(handle)}, Ingress(settings, None, None)))  # type: ignore[arg-type]
    assert [type(sub) for sub in broker.subscribers] == [PromptBatchSubscriber]
