"""What a dead sender leaves behind never holds back anyone else's email, and is itself sent once:
a claim whose lease has not run out yet, and a row still held by the open transaction of a process
killed while it recorded an outcome (the database reaps that transaction only after 60 s)."""

import asyncio
import signal
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient
from support import of_org, profile
from support import proposal as make_proposal

from reciprocal.processes import spawn
from reciprocal.wire import Frontend, Tap
from services.notifier.adapters.repository import delivery_doc
from services.notifier.domain import Claimant, Delivery
from shared.contract import ProfileChanged

LEASE_S = 15


@pytest.fixture
async def deliveries(stack):
    client = AsyncMongoClient(stack.mongo_url, tz_aware=True)
    yield client["reciprocal_notifier"]["deliveries"]  # the notifier's own records
    await client.close()


def abandoned(org: str, name: str, *, claimed_at: datetime, lease_expires_at: datetime) -> Delivery:
    """An email delivery that a replica which no longer exists had claimed."""
    at = datetime.now(UTC) - timedelta(minutes=10)
    delivery = Delivery(
        id=f"{name}-{org}", org_id=org, person_id=f"{name}-{org}", channel="email", kind="match_proposed",
        cause_event_id=str(uuid.uuid4()), correlation_id=None, created_at=at, next_attempt_at=at,
        contact_on_file=False, version=1,
        content={"to": f"{name}-{org}@example.com", "subject": f"Left behind ({name})", "text": "Hello",
                 "html": "<p>Hello</p>", "message_id": f"<{name}-{org}@reciprocal.local>"},
    )
    delivery.claim(Claimant("a-replica-that-died", "its-last-run"), at, lease_s=60)
    delivery.claimed_at, delivery.lease_expires_at = claimed_at, lease_expires_at
    return delivery


def mails_to(stack, address: str) -> list:
    return [m for m in stack.emails() if m["To"] == address]


async def wait_mails(stack, addresses: list[str], timeout: float) -> float:
    """Seconds until every address has an email."""
    start = time.monotonic()
    while not all(mails_to(stack, a) for a in addresses):
        if time.monotonic() - start > timeout:
            missing = [a for a in addresses if not mails_to(stack, a)]
            raise TimeoutError(f"no email after {timeout}s for {len(missing)} of {len(addresses)} recipients")
        await asyncio.sleep(0.1)
    return time.monotonic() - start


async def propose_a_pair(fe: Frontend, org: str, tag: str) -> list[str]:
    a = profile(org, f"{tag}a-{org}", offers=["sql"], wants=["excel"])
    b = profile(org, f"{tag}b-{org}", offers=["excel"], wants=["sql"])
    for p in (a, b):
        await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
    await fe.publish("matches.proposed", make_proposal(org, a, b, ("sql", "query"), ("excel", "model"))
                     | {"match_id": f"m-{tag}-{org}"})
    return [a["email"], b["email"]]


async def test_a_claim_of_a_dead_replica_delays_no_one_and_is_sent_once_its_lease_runs_out(stack, deliveries):
    org = f"org-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    planted = abandoned(org, "planted", claimed_at=now, lease_expires_at=now + timedelta(seconds=LEASE_S))
    await deliveries.insert_one(delivery_doc(planted))
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["notifications.sent"]) as tap:
        others = await propose_a_pair(fe, org, "x")
        await wait_mails(stack, others, timeout=LEASE_S - 3)
        assert not mails_to(stack, planted.content["to"]), "sent while another replica's lease still held it"
        waited = await wait_mails(stack, [planted.content["to"]], timeout=LEASE_S + 20)
        assert datetime.now(UTC) >= planted.lease_expires_at, f"sent after {waited:.1f}s, inside the lease"
        await asyncio.sleep(2)
        sent = [n for n in of_org(tap.events("notifications.sent"), org) if n["notification_id"] == planted.id]
    assert [m["Message-ID"] for m in mails_to(stack, planted.content["to"])] == [planted.content["message_id"]]
    assert len(sent) == 1
    row = await deliveries.find_one({"_id": planted.id})
    assert (row["status"], row["claimed_by"], row["attempts"]) == ("sent", "notifier", 1)


# A process that claimed the row, started recording the outcome and was killed -9 before commit.
HOLDER = """
import sys, time
from pymongo import MongoClient
client = MongoClient(sys.argv[1])
deliveries = client["reciprocal_notifier"]["deliveries"]
with client.start_session() as session:
    session.start_transaction()
    deliveries.update_one({"_id": sys.argv[2]}, {"$set": {"status": "sent"}}, session=session)
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.mark.faults_full  # over a minute (the database reaps the dead transaction after 60 s): `make faults`
async def test_a_row_held_by_a_killed_process_transaction_does_not_stop_email(stack, deliveries, tmp_path):
    org = f"org-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    # Claimed long ago, with a lease that runs out in a moment: every sender will try to take it over.
    held = abandoned(org, "held", claimed_at=now - timedelta(minutes=5), lease_expires_at=now + timedelta(seconds=2))
    await deliveries.insert_one(delivery_doc(held))
    log = tmp_path / "holder.log"
    holder = spawn([sys.executable, "-c", HOLDER, stack.mongo_url, held.id], log=log)
    try:
        for _ in range(100):
            if "held" in log.read_text():
                break
            await asyncio.sleep(0.1)
        assert "held" in log.read_text(), log.read_text()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    await asyncio.sleep(2)  # the lease has run out: the row is due, and still held
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["notifications.sent"]) as tap:
        others = await propose_a_pair(fe, org, "y")
        await wait_mails(stack, others, timeout=15)
        assert not mails_to(stack, held.content["to"])
        # Once the database reaps the dead transaction (60 s after its last statement), the row is sent.
        await wait_mails(stack, [held.content["to"]], timeout=120)
        await asyncio.sleep(2)
        sent = [n for n in of_org(tap.events("notifications.sent"), org) if n["notification_id"] == held.id]
    assert [m["Message-ID"] for m in mails_to(stack, held.content["to"])] == [held.content["message_id"]]
    assert len(sent) == 1
