"""Transient database faults through SecantusDB's `failCommand` failpoint: write conflicts,
"shutting down" answers and dropped connections on inserts, updates, reads and commits, armed again
and again during a burst through the whole chain. Each is retried: nothing is lost (no valid event
dead-lettered), nothing is duplicated.

The session's embedded stack starts secantusd-py without `--enable-test-commands`, so this module
uses the suite's `isolated_stack`: its own database server with test commands, its own broker and SMTP
sink, the same five service processes (EmbeddedStack's `external_mongo`)."""

import asyncio
import contextlib
import time

import pytest
from harness import CHAIN_TOPICS, Chain, CountingTap, dlq_topics, new_org, pair_people, report, size, totals
from pymongo import AsyncMongoClient

from reciprocal.wire import Frontend

SUBMISSIONS = size(20, 100)
FAULTS = [  # (what, failpoint data)
    ("write_conflict", {"errorCode": 112, "errorLabels": ["TransientTransactionError"]}),
    ("shutting_down", {"errorCode": 91}),
    ("connection_dropped", {"closeConnection": True}),
]
EVERY_S = 1.5  # two failures armed this often: about 1.3 failed commands a second, server-wide
WINDOW_S = 60.0
AT_LEAST = 8 * len(FAULTS)  # failures armed before the window may close: each kind at least four times
COMMANDS = ["insert", "update", "find", "delete", "aggregate", "commitTransaction"]

pytestmark = pytest.mark.faults_full


async def arm(client: AsyncMongoClient, data: dict, times: int) -> None:
    await client.admin.command({"configureFailPoint": "failCommand", "mode": {"times": times},
                                "data": {"failCommands": COMMANDS, **data}})


@pytest.mark.timeout(900)
async def test_transient_database_faults_are_retried_and_nothing_is_lost_or_duplicated(isolated_stack):
    stack = isolated_stack
    started = time.monotonic()
    org = new_org("dbfault")
    admin = AsyncMongoClient(stack.mongo_url)
    injected = {what: 0 for what, _ in FAULTS}
    async with Frontend(stack.kafka_bootstrap) as fe, \
            CountingTap(stack.kafka_bootstrap, [*CHAIN_TOPICS, *dlq_topics()]) as tap:
        chain = Chain(stack, fe, tap, org, pair_people(org, SUBMISSIONS // 2))

        async def keep_failing() -> None:
            n = 0
            while True:
                what, data = FAULTS[n % len(FAULTS)]
                await arm(admin, data, times=2)
                injected[what] += 2
                n += 1
                await asyncio.sleep(EVERY_S)

        faults = asyncio.create_task(keep_failing())
        try:
            await chain.configure()
            await chain.submit_all()
            # faults while the burst is in flight (at least AT_LEAST of them, at most WINDOW_S), then the
            # burst must complete
            with contextlib.suppress(TimeoutError):
                await chain.until(lambda: chain.proposed().seen >= len(chain.pairs) // 2
                                  and sum(injected.values()) >= AT_LEAST, WINDOW_S, "the window")
        finally:
            faults.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await faults
            await admin.admin.command({"configureFailPoint": "failCommand", "mode": "off"})
        await chain.until(chain.complete, 300 + 3 * SUBMISSIONS, "every effect")
        await tap.settle("notifications.sent", quiet=3.0)
        stages = chain.stages()
        dead = sum(len(tap.raw_by_topic[t]) for t in dlq_topics())
    await admin.close()
    counts = totals(stages)
    report("db-failpoints", started, submitted=SUBMISSIONS, **{f"armed_{k}": v for k, v in injected.items()},
           **counts, dead_lettered=dead)
    assert counts["lost"] == 0 and dead == 0, (chain.summary(), dead)
    assert counts["dup"] == 0 and counts["unexpected"] == 0, chain.summary()
