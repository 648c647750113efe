"""The topic registry marks the interactive topics once; every service's router consumes them in a
lane of their own, one at a time, and everything else in bounded batches."""

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
