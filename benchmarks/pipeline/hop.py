"""A bare aiokafka produce -> consume hop on the same broker, the floor every pipeline hop stands on."""

import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.messaging import create_topics


async def bare_hop_seconds(bootstrap: str, samples: int = 200, warmup: int = 20) -> list[float]:
    """Send one small message at a time and time it until the consumer has it (aiokafka defaults, acks=1)."""
    topic = f"bench.hop-{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap, 1, names=[topic])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    try:
        value = b'{"event_type": "bench.hop", "padding": "' + b"x" * 160 + b'"}'
        timings = []
        for i in range(warmup + samples):
            started = time.perf_counter()
            await producer.send_and_wait(topic, value, key=b"hop")
            await consumer.getone()
            if i >= warmup:
                timings.append(time.perf_counter() - started)
        return timings
    finally:
        await consumer.stop()
        await producer.stop()
