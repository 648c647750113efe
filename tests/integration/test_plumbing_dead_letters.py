"""Ingress through the real runtime: poison and oversize messages go to `<topic>.dlq` once and the
consumer keeps going; an operator's replay of a dead letter takes effect once; a replay of the topic
under another consumer group adds no dead letters."""

from collections import Counter

from plumbing_probe import Probe, eventually, headers_of, read_topic

from shared.contract.topics import dlq_topic

OVERSIZE = 600 * 1024  # over the 512 KiB default, under the broker's 1 MiB


async def test_poison_and_oversize_messages_are_dead_lettered_once_even_across_a_replay(infrastructure):
    probe = Probe(infrastructure, broken={"c"})
    await probe.create_topics()
    bootstrap = infrastructure.kafka_bootstrap
    oversize = probe.event("d", blob="x" * OVERSIZE)
    async with probe.running() as (app, http):
        await probe.publish(
            (b"a", b"this is not json"),
            (b"b", b'{"org_id": "probe-org"}'),  # no item: fails its schema
            (b"c", probe.event("c")),  # the handler fails every try
            (b"d", oversize),  # valid, but too large to be read at all
            (b"e", probe.event("e")),
        )
        await eventually(lambda: _has(probe, app, "e"), what="the message after the poison ones")
        dead = await read_topic(bootstrap, dlq_topic(probe.topic))
        assert Counter(headers_of(r)["dlq-error-type"] for r in dead) == {
            "not_json": 1, "schema_invalid": 1, "RuntimeError": 1, "too_large": 1}
        too_large = next(r for r in dead if headers_of(r)["dlq-error-type"] == "too_large")
        assert too_large.key == b"d" and too_large.value == oversize
        assert headers_of(too_large)["dlq-attempts"] == "0"
        assert "d" not in probe.handled, "an oversize message was parsed and handled"

        # The operator fixes what made c fail and replays its dead letter: it takes effect, once.
        probe.broken.clear()
        c_dead = next(r for r in dead if r.key == b"c")
        await probe.publish((b"c", c_dead.value), (b"c", c_dead.value))
        await eventually(lambda: _has(probe, app, "c"), what="the replayed dead letter")
        # Replaying a dead letter that still fails does not dead-letter it again.
        a_dead = next(r for r in dead if r.key == b"a")
        await probe.publish((b"a", a_dead.value), (b"z", probe.event("z")))
        await eventually(lambda: _has(probe, app, "z"), what="the message after the second replay")
        metrics = (await http.get("/metrics")).text
        assert 'reciprocal_dead_letters_repeated_total{reason="not_json",topic="' in metrics

    # A replay of the whole topic under another consumer group: everything fails or is a no-op again.
    handled_before = len(probe.handled)
    async with probe.running(consumer_group="probe-replay") as (app, http):
        await probe.publish((b"y", probe.event("y")))
        await eventually(lambda: _has(probe, app, "y"), what="the replay to reach the end of the topic")
        # From offset 0: a, b and the second a fail to parse, d is too large, the rest are handled once.
        assert probe.handled[handled_before:] == ["c", "e", "c", "c", "z", "y"]
        assert await probe.effects(app) == ["c", "e", "y", "z"]
        metrics = (await http.get("/metrics")).text
        assert "reciprocal_dead_lettered_total{" not in metrics
    assert len(await read_topic(bootstrap, dlq_topic(probe.topic))) == 4


async def _has(probe: Probe, app, item: str) -> bool:
    return item in await probe.effects(app)


async def test_a_message_too_large_even_for_its_dead_letter_is_pointed_to_not_copied(infrastructure):
    """A broker that takes records over our producer's limit (the embedded one does): the dead letter
    names the original's topic, partition and offset instead of carrying its bytes."""
    probe = Probe(infrastructure)
    await probe.create_topics()
    async with probe.running() as (app, _):
        await probe.publish((b"h", probe.event("h", blob="x" * (1024 * 1024 + 1))), (b"i", probe.event("i")))
        await eventually(lambda: _has(probe, app, "i"), what="the message after the huge one")
    [dead] = await read_topic(infrastructure.kafka_bootstrap, dlq_topic(probe.topic))
    headers = headers_of(dead)
    assert dead.key == b"h" and dead.value == b"" and headers["dlq-error-type"] == "too_large"
    assert int(headers["dlq-value-omitted-bytes"]) > 1024 * 1024
    assert (headers["dlq-original-topic"], headers["dlq-original-offset"]) == (probe.topic, "0")
