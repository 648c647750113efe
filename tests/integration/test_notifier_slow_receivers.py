"""An SMTP server that never answers for some recipients: the others' email still goes out, the
silent send is cut off and retried, and /readyz reports a delivery backlog that waits too long."""

import asyncio
import threading
import time
import uuid
from collections import Counter
from email import message_from_bytes, policy

import httpx
import pytest
from aiosmtpd.controller import Controller
from support import profile
from support import proposal as make_proposal

from reciprocal.processes import free_port
from reciprocal.wire import Frontend
from shared.contract import ProfileChanged

HANG_AT_MOST_S = 90


class StallingSink:
    """A real SMTP server on loopback (aiosmtpd) that leaves RCPT TO unanswered for the recipients
    `stalls` picks, until released (and never longer than HANG_AT_MOST_S)."""

    def __init__(self) -> None:
        self.stalls = lambda address: False
        self.released = threading.Event()
        self.rcpt_tries: Counter[str] = Counter()
        self.mails: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_tries[address] += 1
        deadline = time.monotonic() + HANG_AT_MOST_S
        # released from the test's thread (a threading.Event), so there is no asyncio.Event to await
        while self.stalls(address) and not self.released.is_set() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.mails.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [m for m in self.mails if m["To"] == address]


@pytest.fixture
def sink(stack):
    """The stack's notifier, sending through a StallingSink with the environment a test gives it."""
    handler = StallingSink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()

    def notifier_with(**env: str) -> None:
        stack.restart_service("notifier", kill=False, RECIPROCAL_SMTP_PORT=str(controller.port), **env)

    handler.notifier_with = notifier_with
    yield handler
    handler.released.set()
    stack.restart_service("notifier", kill=False)
    controller.stop()


async def wait_until(condition, timeout: float, what: str) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what} not seen after {timeout}s")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def propose(fe: Frontend, org: str, tag: str) -> list[str]:
    a = profile(org, f"{tag}a-{org}", offers=["sql"], wants=["excel"], channels=["email"])
    b = profile(org, f"{tag}b-{org}", offers=["excel"], wants=["sql"], channels=["email"])
    for p in (a, b):
        await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
    await fe.publish("matches.proposed", make_proposal(org, a, b, ("sql", "query"), ("excel", "model"))
                     | {"match_id": f"m-{tag}-{org}"})
    return [a["email"], b["email"]]


async def test_a_server_silent_for_one_recipient_holds_back_no_one_else(stack, sink):
    send_timeout_s = 10
    # aiosmtplib's own per-command timeout is set far out, so only the notifier's bound on a send can end it
    sink.notifier_with(RECIPROCAL_DELIVERY_SEND_TIMEOUT_S=str(send_timeout_s), RECIPROCAL_SMTP_TIMEOUT_S="60")
    org = f"org-{uuid.uuid4().hex[:6]}"
    silent = f"sa-{org}@example.com"
    sink.stalls = lambda address: address == silent
    async with Frontend(stack.kafka_bootstrap) as fe:
        first = await propose(fe, org, "s")
        await wait_until(lambda: sink.rcpt_tries[silent] == 1, 30, "the silent recipient's first try")
        stalled_at = time.monotonic()
        others = [a for a in first if a != silent] + await propose(fe, org, "o") + await propose(fe, org, "p")
        await wait_until(lambda: all(sink.to(a) for a in others), 30, "the other recipients' emails")
    assert time.monotonic() - stalled_at < send_timeout_s, "the others waited for the silent send to time out"
    assert sink.rcpt_tries[silent] == 1 and not sink.to(silent)

    await wait_until(lambda: sink.rcpt_tries[silent] == 2, send_timeout_s + 15, "a retry after the send timed out")
    assert time.monotonic() - stalled_at >= send_timeout_s - 0.5
    sink.released.set()
    await wait_until(lambda: sink.to(silent), 30, "the silent recipient's email")
    await asyncio.sleep(1)
    assert len(sink.to(silent)) == 1 and all(len(sink.to(a)) == 1 for a in others)


async def test_readyz_fails_while_due_deliveries_wait_too_long_and_recovers_once_they_drain(stack, sink):
    notifier = stack.service_url("notifier")
    sink.notifier_with(RECIPROCAL_DELIVERY_CONCURRENCY="1", RECIPROCAL_DELIVERY_BACKLOG_READY_S="2")
    org = f"org-{uuid.uuid4().hex[:6]}"
    sink.stalls = lambda address: org in address
    assert httpx.get(f"{notifier}/readyz").status_code == 200
    async with Frontend(stack.kafka_bootstrap) as fe:
        pair = await propose(fe, org, "r")  # one send stalls in the only slot; the other waits its turn
    await wait_until(lambda: httpx.get(f"{notifier}/readyz").status_code == 503, 30, "/readyz failing")
    body = httpx.get(f"{notifier}/readyz").json()
    assert body["deliveries"] is False and body["database"] is True and body["broker"] is True
    gauges = metrics(notifier)
    assert gauges["notifier_delivery_backlog_age_seconds"] > 2 and gauges["notifier_deliveries_pending"] >= 1

    sink.released.set()
    await wait_until(lambda: all(sink.to(a) for a in pair), 30, "both emails")
    await wait_until(lambda: httpx.get(f"{notifier}/readyz").status_code == 200, 15, "/readyz green again")
    assert metrics(notifier)["notifier_delivery_backlog_age_seconds"] == 0


def metrics(url: str) -> dict[str, float]:
    found = {}
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith("notifier_"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found
