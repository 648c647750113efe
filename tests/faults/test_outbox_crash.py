"""A crash in either outbox window: after the database commit but before the publish, and after the
publish but before the row is marked. The outbox offers no test hook, so the test freezes the
profiles service (SIGSTOP) at moments during a burst, lets the topic catch up, and compares the
frozen outbox with the topic: a row still unmarked but absent from the topic is committed and not
published, one already on the topic is published and not marked. In the wanted window the frozen
process gets SIGKILL; otherwise SIGCONT and another probe a moment later. After a restart
every profile has exactly one profiles.changed by content, and the matcher downstream makes exactly
one proposal per pair (a re-published row has the same event_id and is de-duplicated)."""

import asyncio
import os
import random
import signal
import time

import pytest
from harness import CHAIN_TOPICS, Chain, CountingTap, database, new_org, pair_people, report, size, totals

from reciprocal.wire import Frontend

PAIRS = size(15, 100)
ATTEMPTS = 4  # bursts tried before giving up on catching the window


async def unpublished(db, topic: str) -> set[str]:
    rows = await db["outbox"].find({"published": False, "topic": topic}, {"event_id": 1}).to_list(None)
    return {r["event_id"] for r in rows}


@pytest.mark.faults_full
@pytest.mark.timeout(900)
@pytest.mark.parametrize("window", [
    "committed-not-published", "published-not-marked",
])
async def test_a_crash_in_an_outbox_window_loses_and_duplicates_nothing(stack, window):
    started = time.monotonic()
    db = database(stack, "profiles")
    caught: dict[str, int] = {}
    probes = 0
    chains: list[Chain] = []
    async with Frontend(stack.kafka_bootstrap) as fe, CountingTap(stack.kafka_bootstrap, CHAIN_TOPICS) as tap:
        for attempt in range(ATTEMPTS):
            org = new_org(f"ob{attempt}")
            chain = Chain(stack, fe, tap, org, pair_people(org, PAIRS), respond=False)
            chains.append(chain)
            await chain.configure()
            await chain.submit_all()
            while chain.changed().lost:
                pid = stack.procs["profiles"].pid
                os.kill(pid, signal.SIGSTOP)
                await asyncio.sleep(0.3)  # what the frozen process had sent reaches the tap
                frozen = await unpublished(db, "profiles.changed")
                on_topic = {e["event_id"] for e in tap.events("profiles.changed")}
                state = {"committed_not_published": len(frozen - on_topic),
                         "published_not_marked": len(frozen & on_topic)}
                if state[window.replace("-", "_")]:
                    stack.stop_service("profiles", kill=True)  # SIGKILL reaches a stopped process too
                    caught = state
                    probes += 1
                    break
                os.kill(pid, signal.SIGCONT)
                probes += 1
                await asyncio.sleep(random.uniform(0.0, 0.15))
            else:
                continue  # the burst finished before the window showed; try another burst
            stack.start_service("profiles")
            stack.wait_ready(("profiles",))
            break
        for chain in chains:
            await chain.until(lambda c=chain: c.changed().lost == 0 and c.proposed().lost == 0, 180,
                              "every profile and proposal")
        await tap.settle("matches.proposed", quiet=3.0)
        stages = [{"changed": c.changed(), "proposed": c.proposed()} for c in chains]
    counts = {k: sum(totals(s)[k] for s in stages) for k in ("expected", "effects", "lost", "dup", "unexpected",
                                                              "redelivered")}
    report(f"outbox-crash[{window}]", started, bursts=len(chains), probes=probes, submitted=2 * PAIRS * len(chains),
           **caught, **counts)
    assert caught.get(window.replace("-", "_")), f"no crash landed in the {window} window in {ATTEMPTS} bursts"
    assert counts["lost"] == 0 and counts["dup"] == 0 and counts["unexpected"] == 0
