"""Replaying every consumer group from offset 0 (a service restarted under a fresh
RECIPROCAL_CONSUMER_GROUP) changes no service's state and sends nothing: no event on any output
topic, no dead letter, no email."""

import asyncio
import time
import uuid
from typing import Any

import pytest
from harness import (
    CHAIN_TOPICS,
    CONSUMES,
    FULL,
    PUBLISHES,
    Chain,
    CountingTap,
    Mails,
    database,
    dlq_topics,
    new_org,
    pair_people,
    received,
    report,
)

from reciprocal.embedded import SERVICES
from reciprocal.wire import Frontend, Tap

# The relay's lease is renewed by every live relay on every pass: bookkeeping, not state.
BOOKKEEPING = {"leases"}
REPLAYED = SERVICES if FULL else ("matcher",)


async def snapshot(stack, service: str) -> dict[str, list[str]]:
    db = database(stack, service)
    out: dict[str, list[str]] = {}
    for name in sorted(await db.list_collection_names()):
        if name not in BOOKKEEPING:
            out[name] = sorted(repr(sorted(d.items())) for d in await db[name].find({}).to_list(None))
    return out


def differences(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, int]:
    diff = {}
    for name in sorted(set(before) | set(after)):
        old, new = set(before.get(name, [])), set(after.get(name, []))
        if old != new:
            diff[name] = len(old ^ new)
    return diff


async def record_count(stack, topics: list[str], quiet: float = 2.0) -> dict[str, int]:
    """Every record on the topics, read from offset 0 until nothing new arrives for `quiet` seconds."""
    async with Tap(stack.kafka_bootstrap, topics) as tap:
        last, since = -1, time.monotonic()
        while time.monotonic() - since < quiet:
            if len(tap.records) != last:
                last, since = len(tap.records), time.monotonic()
            await asyncio.sleep(0.1)
        counts = {t: 0 for t in topics}
        for r in tap.records:
            counts[r.topic] += 1
        return counts


# Out of the smoke part for now: since the batch lanes landed, a service restarted under a fresh
# consumer group on the shared session stack sometimes stays in start-up past 60 s (seen once, on
# the matcher). It runs in `make faults`; see docs/reliability.md, "Open findings".
@pytest.mark.faults_full
@pytest.mark.timeout(900)
async def test_replaying_every_consumer_group_changes_nothing_and_sends_nothing(stack):
    started = time.monotonic()
    org = new_org("replay")
    async with Frontend(stack.kafka_bootstrap) as fe, CountingTap(stack.kafka_bootstrap, CHAIN_TOPICS) as tap:
        chain = Chain(stack, fe, tap, org, pair_people(org, 2))  # some state in every service
        await chain.configure()
        await chain.submit_all()
        await fe.publish_raw("profiles.submitted", b"{not json", key=org.encode())  # and a dead letter
        await chain.until(chain.complete, 180, "the chain")
        await tap.settle("notifications.sent", quiet=2.0)

    outputs = sorted({t for topics in PUBLISHES.values() for t in topics} | set(dlq_topics()))
    mails = Mails(stack)
    states = {svc: await snapshot(stack, svc) for svc in REPLAYED}
    sent_before = await record_count(stack, outputs)
    mails_before = len(mails.all())
    inputs = {svc: sum((await record_count(stack, CONSUMES[svc], quiet=1.0)).values()) for svc in REPLAYED}

    group = f"replay-{uuid.uuid4().hex[:6]}"
    try:
        for svc in REPLAYED:
            stack.restart_service(svc, kill=False, RECIPROCAL_CONSUMER_GROUP=f"{group}-{svc}")
        deadline = time.monotonic() + 600
        while any(received(stack, svc) < inputs[svc] for svc in REPLAYED):
            assert time.monotonic() < deadline, {svc: (received(stack, svc), inputs[svc]) for svc in REPLAYED}
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # anything the replay would cause has time to be published
        sent_after = await record_count(stack, outputs)
        changed = {svc: differences(states[svc], await snapshot(stack, svc)) for svc in REPLAYED}
        mails_after = len(mails.all())
    finally:
        for svc in REPLAYED:
            stack.restart_service(svc, kill=False)
    new_events: dict[str, Any] = {t: sent_after[t] - sent_before.get(t, 0) for t in outputs
                                  if sent_after[t] != sent_before.get(t, 0)}
    report("replay", started, services="+".join(REPLAYED), replayed=sum(inputs.values()),
           new_events=sum(new_events.values()), new_dlq=sum(v for t, v in new_events.items() if t.endswith(".dlq")),
           new_emails=mails_after - mails_before, changed_docs=sum(sum(d.values()) for d in changed.values()))
    assert all(not d for d in changed.values()), changed
    assert not new_events, new_events
    assert mails_after == mails_before
