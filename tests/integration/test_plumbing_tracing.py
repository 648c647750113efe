"""W3C trace context travels through Kafka headers: an event's trace continues in the events its
handler causes, across the outbox (stored with the row, published by the relay)."""

from plumbing_probe import Probe, eventually, headers_of, read_topic

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


async def test_the_trace_of_a_consumed_event_continues_in_the_events_it_causes(infrastructure):
    probe = Probe(infrastructure)
    await probe.create_topics()
    async with probe.running() as (_app, _):
        await probe.publish((b"t", probe.event("t", echo=True)), headers=[("traceparent", TRACEPARENT.encode())])
        await probe.publish((b"u", probe.event("u", echo=True)))  # no trace: none is invented

        async def echoes():
            records = await read_topic(infrastructure.kafka_bootstrap, probe.echo_model.topic(), quiet=0.5)
            return records if len(records) == 2 else None

        traced, untraced = await eventually(echoes, what="both caused events")
    assert traced.key == b"t" and headers_of(traced)["traceparent"].split("-")[1] == TRACE_ID
    assert untraced.key == b"u" and "traceparent" not in headers_of(untraced)
