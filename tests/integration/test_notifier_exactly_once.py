"""Each delivery happens once per (cause event, recipient, channel): a kill -9 in a burst loses
nothing, and replaying every topic from offset 0 sends nothing new."""

import asyncio
import uuid
from collections import defaultdict

import httpx
import pytest
from support import of_org, profile
from support import proposal as make_proposal

from reciprocal.embedded import EmbeddedStack
from reciprocal.wire import Frontend, Tap
from shared.contract import ProfileChanged

PAIRS = 15


def proposal_mails(stack: EmbeddedStack, org: str) -> dict[str, set[str]]:
    """Message-IDs of proposal emails per recipient, for this org's people."""
    found: dict[str, set[str]] = defaultdict(set)
    for mail in stack.emails():
        if org in mail["To"] and mail["Subject"].startswith("New mentoring match proposed"):
            found[mail["To"]].add(mail["Message-ID"])
    return found


def received(stack: EmbeddedStack) -> float:
    metrics = httpx.get(f"{stack.service_url('notifier')}/metrics").text
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith("faststream_received_messages_total{"))


@pytest.mark.faults_full  # a kill -9: make faults
async def test_kill_9_during_a_burst_loses_nothing_and_a_replay_sends_nothing(stack):
    org = f"org-{uuid.uuid4().hex[:6]}"
    people = [profile(org, f"p{i:02d}-{org}", offers=["sql"], wants=["excel"]) for i in range(2 * PAIRS)]
    proposals = [make_proposal(org, people[2 * i], people[2 * i + 1], ("sql", "query"), ("excel", "model"))
                 | {"match_id": f"m{i:02d}-{org}"} for i in range(PAIRS)]
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["notifications.sent"]) as tap:
        for p in people:
            await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
        for p in proposals:
            await fe.publish("matches.proposed", p)
        await tap.wait_for(lambda t: len(of_org(t.events("notifications.sent"), org)) >= 4, what="the burst")
        stack.restart_service("notifier")  # kill -9 mid-burst, then a fresh process
        await tap.wait_for(lambda t: len({(n["person_id"], n["channel"]) for n in of_org(
            t.events("notifications.sent"), org)}) == 4 * PAIRS, what="every delivery", timeout=120)
        mails = proposal_mails(stack, org)
        assert sorted(mails) == sorted(p["email"] for p in people)
        # A sender killed between the SMTP answer and its bookkeeping re-sends with the same
        # Message-ID, so the receiver can recognise it: never two different messages.
        assert all(len(ids) == 1 for ids in mails.values())

        topics = await everything_the_notifier_consumed(stack)
        stack.restart_service("notifier", kill=False, RECIPROCAL_CONSUMER_GROUP=f"replay-{org}")
        for _ in range(600):
            if received(stack) >= topics:
                break
            await asyncio.sleep(0.1)
        assert received(stack) >= topics, "the replaying notifier did not read every topic from offset 0"
        sent_before = len(tap.events("notifications.sent"))
        await asyncio.sleep(2)
        assert len(tap.events("notifications.sent")) == sent_before
        assert proposal_mails(stack, org) == mails
    stack.restart_service("notifier", kill=False)


async def everything_the_notifier_consumed(stack: EmbeddedStack) -> int:
    from services.notifier.app import NOTIFYING

    topics = ["profiles.changed", *(m.topic() for m in NOTIFYING)]
    async with Tap(stack.kafka_bootstrap, topics) as tap:
        await tap.wait_for(lambda t: len(t.records) > 0, what="records")
        await asyncio.sleep(2)
        return len(tap.records)
