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


class Consumer:
    """A consumer's buffer: `getmany` takes what is buffered, or waits its timeout for `arriving`."""

    def __init__(self, buffered: list[str] | None = None, arriving: list[str] | None = None) -> None:
        self.buffered = list(buffered or [])
        self.arriving = list(arriving or [])
        self.polls: list[int] = []

    async def getmany(self, timeout_ms: int, max_records: int | None) -> dict[str, list[str]]:
        self.polls.append(timeout_ms)
        if not self.buffered and timeout_ms:
            if not self.arriving:
                await asyncio.sleep(timeout_ms / 1000)  # the whole wait, then nothing
                return {}
            self.buffered, self.arriving = self.arriving, []
        taken, self.buffered = self.buffered[:max_records], self.buffered[max_records:]
        return {"tp0": taken} if taken else {}


def bulk_lane(wait_ms: int, linger_ms: int = 0, max_records: int = 200) -> Any:
    settings = ServiceSettings(service="lanes", batch_max_wait_ms=wait_ms, batch_linger_ms=linger_ms,
                               batch_max_records=max_records)
    router = event_router(settings, {ProfileChanged: Batched(handle)}, Ingress(settings, None, None))  # type: ignore[arg-type]
    [subscriber] = router.subscribers
    return subscriber


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The lane's own sleeps, recorded and skipped."""
    seen: list[float] = []

    async def sleep(seconds: float) -> None:
        seen.append(seconds)

    monkeypatch.setattr("shared.bulk_lane.sleep", sleep)
    return seen


async def test_the_bulk_lane_polls_again_at_once_after_an_empty_poll(pauses: list[float]):
    """FastStream's batch subscriber sleeps `batch_timeout_ms` after an empty poll, which has itself
    waited that long; a record arriving during the sleep would wait it out."""
    subscriber = bulk_lane(wait_ms=30)
    assert isinstance(subscriber, PromptBatchSubscriber)
    consumer = Consumer()
    assert await subscriber.get_msg(consumer) == ()
    assert pauses == []  # the poll waited its 30 ms; no sleep after it
    consumer.arriving = ["r1", "r2"]
    assert await subscriber.get_msg(consumer) == ("r1", "r2")
    assert consumer.polls == [0, 30, 0, 30]


async def test_a_poll_that_comes_back_empty_early_pauses_for_the_rest_so_the_lane_never_spins(
    pauses: list[float],
):
    subscriber = bulk_lane(wait_ms=200)

    class ClosingConsumer:
        async def getmany(self, timeout_ms: int, max_records: int | None) -> dict[str, list[str]]:
            return {}

    assert await subscriber.get_msg(ClosingConsumer()) == ()
    assert len(pauses) == 1 and 0.15 < pauses[0] <= 0.2


async def test_a_lane_that_keeps_up_takes_a_record_as_it_arrives_even_with_a_linger(pauses: list[float]):
    subscriber = bulk_lane(wait_ms=30, linger_ms=100)
    consumer = Consumer(arriving=["r1"])
    assert await subscriber.get_msg(consumer) == ("r1",)
    assert pauses == []


async def test_a_lane_that_is_behind_lets_its_batch_grow_for_the_linger(monkeypatch: pytest.MonkeyPatch):
    subscriber = bulk_lane(wait_ms=30, linger_ms=100, max_records=5)
    consumer = Consumer(buffered=["r1", "r2", "r0"])
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:  # records arrive while the batch lingers
        pauses.append(seconds)
        if len(pauses) == 1:
            consumer.buffered += ["r3", "r4", "r5"]

    monkeypatch.setattr("shared.bulk_lane.sleep", sleep)
    assert await subscriber.get_msg(consumer) == ("r1", "r2", "r0", "r3", "r4")  # at most max_records, in order
    assert pauses == [0.1]
    assert await subscriber.get_msg(consumer) == ("r5",)  # one left: not behind, taken at once
    assert pauses == [0.1]
    assert consumer.polls == [0, 0, 0]


async def test_two_records_buffered_are_a_lane_that_keeps_up(pauses: list[float]):
    """The two profiles of a pair arrive together at any rate; lingering on them would delay a quiet stack."""
    subscriber = bulk_lane(wait_ms=30, linger_ms=100)
    assert await subscriber.get_msg(Consumer(buffered=["r1", "r2"])) == ("r1", "r2")
    assert pauses == []


async def test_a_full_batch_does_not_linger(pauses: list[float]):
    subscriber = bulk_lane(wait_ms=30, linger_ms=100, max_records=3)
    consumer = Consumer(buffered=["r1", "r2", "r3", "r4"])
    assert await subscriber.get_msg(consumer) == ("r1", "r2", "r3")
    assert pauses == []


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
    [subscriber] = broker.subscribers
    assert isinstance(subscriber, PromptBatchSubscriber) and subscriber.linger_s == settings.batch_linger_ms / 1000
