"""One hop on the real embedded stack: `profiles.submitted` -> `profiles.changed`, at a steady rate.

    python -m benchmarks.plumbing.bench_hop --rate 5 --count 150

Starts Tansu, SecantusDB and the profiles service as processes, publishes valid profiles as a
frontend would, and times each one until its `profiles.changed` (matched on correlation_id) is
read back. Prints p50/p90/p99 in milliseconds. No assertion: the figure goes into the report.
"""

import argparse
import asyncio
import json
import statistics
import time
import uuid
from datetime import datetime

from aiokafka import AIOKafkaConsumer

from reciprocal.embedded import EmbeddedStack
from reciprocal.wire import Frontend
from tests.support import profile


async def measure(stack: EmbeddedStack, rate: float, count: int, warmup: int) -> dict[str, list[float]]:
    org = f"bench-{uuid.uuid4().hex[:6]}"
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    created: dict[str, float] = {}
    # The reader polls with a short fetch wait so that its own latency does not hide the service's.
    reader_consumer = AIOKafkaConsumer(
        "profiles.changed", bootstrap_servers=stack.kafka_bootstrap, group_id=f"bench-{org}",
        auto_offset_reset="latest", fetch_max_wait_ms=5,
    )
    await reader_consumer.start()
    async with Frontend(stack.kafka_bootstrap) as fe:
        async def read() -> None:
            async for record in reader_consumer:
                event = json.loads(record.value)
                if event.get("org_id") == org:
                    seen.setdefault(event["correlation_id"], time.time())
                    created.setdefault(
                        event["correlation_id"], datetime.fromisoformat(event["occurred_at"]).timestamp()
                    )
                if len(seen) >= count + warmup:
                    return

        reader = asyncio.create_task(read())
        await asyncio.sleep(1.0)  # the tap joins its group
        start = time.perf_counter()
        for i in range(count + warmup):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            event = profile(org, f"p{i}", offers=["python"], wants=["leadership"])
            event["event_id"] = str(uuid.uuid4())
            sent[event["event_id"]] = time.time()
            await fe.publish("profiles.submitted", event)
        await asyncio.wait_for(reader, 120)
    await reader_consumer.stop()
    ids = list(sent)[warmup:]
    return {
        "submit->changed": [(seen[i] - sent[i]) * 1000 for i in ids],
        "submit->handler emits": [(created[i] - sent[i]) * 1000 for i in ids],
        "emit->changed read": [(seen[i] - created[i]) * 1000 for i in ids],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--count", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--fetch-max-wait-ms", type=int, help="RECIPROCAL_FETCH_MAX_WAIT_MS for the service")
    args = parser.parse_args()
    stack = EmbeddedStack()
    if args.fetch_max_wait_ms is not None:
        stack.service_defaults = {"RECIPROCAL_FETCH_MAX_WAIT_MS": str(args.fetch_max_wait_ms)}
    try:
        stack.start(("profiles",))
        stages = asyncio.run(measure(stack, args.rate, args.count, args.warmup))
    finally:
        stack.stop()
    print(
        f"at {args.rate}/s, n={args.count}, fetch_max_wait_ms={args.fetch_max_wait_ms or 'default'} "
        "(the handler stamps occurred_at when it emits):"
    )
    for stage, latencies in stages.items():
        q = statistics.quantiles(sorted(latencies), n=100)
        print(
            f"  {stage:<24} p50 {q[49]:7.1f} ms  p90 {q[89]:7.1f} ms  p99 {q[98]:7.1f} ms  max {max(latencies):7.1f} ms"
        )


if __name__ == "__main__":
    main()
