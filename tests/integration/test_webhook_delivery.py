"""Signed webhooks against a real local receiver: the signature covers the body and its timestamp,
retries keep the idempotency key and honour Retry-After, refusals and redirects are reported with
notifications.failed, and a person who withdraws mid-retry gets nothing further."""

import asyncio
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from pymongo import AsyncMongoClient
from support import of_org, profile
from support import proposal as make_proposal

from reciprocal.processes import free_port
from reciprocal.wire import Frontend, Tap
from services.notifier.domain import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from shared.contract import ProfileChanged

ORG = "webhook-org"  # the stack's notifier has a webhook secret for this org only
SECRET = b"s3cret"
RETRY_AFTER_S = 3


class Receiver(BaseHTTPRequestHandler):
    calls: ClassVar[dict[str, list[tuple[float, dict[str, str], bytes]]]] = defaultdict(list)
    answers: ClassVar[dict[str, list[tuple[int, dict[str, str]]]]] = {
        "/ok": [(200, {})],
        "/flaky": [(503, {"Retry-After": str(RETRY_AFTER_S)})] * 2 + [(200, {})],
        "/gone": [(410, {})],
        "/moved": [(301, {"Location": "/ok"})],
        "/busy": [(503, {"Retry-After": "8"})],
    }

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        path = "/" + self.path.rsplit("/", 1)[-1]
        calls = self.calls[self.path]
        calls.append((time.monotonic(), dict(self.headers), body))
        status, headers = self.answers[path][min(len(calls), len(self.answers[path])) - 1]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def hooked(run: str, receiver: str, name: str, path: str, offers: list[str], wants: list[str]) -> dict:
    return profile(ORG, f"{name}-{run}", offers=offers, wants=wants, channels=["webhook"],
                   webhook_url=f"{receiver}/{run}{path}")


async def test_webhooks_are_signed_retried_and_failures_reported(stack, receiver):
    run = uuid.uuid4().hex[:6]
    people = {
        name: hooked(run, receiver, name, f"/{name}", offers, wants)
        for name, offers, wants in (("ok", ["sql"], ["coaching"]), ("flaky", ["coaching"], ["sql"]),
                                    ("gone", ["excel"], ["sql"]), ("moved", ["excel"], ["sql"]))
    }
    pairs = (("ok", "flaky"), ("gone", "ok"), ("moved", "ok"))
    proposals = [make_proposal(ORG, people[a], people[b], ("sql", "query data"), ("coaching", "coach"))
                 | {"match_id": f"m-{i}-{run}"} for i, (a, b) in enumerate(pairs)]
    topics = ["notifications.sent", "notifications.failed"]
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, topics) as tap:
        for p in people.values():
            await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
        causes = {(await fe.publish("matches.proposed", p))["event_id"] for p in proposals}

        def mine(t: Tap, topic: str) -> list[dict]:
            return [n for n in of_org(t.events(topic), ORG) if n["cause_event_id"] in causes]

        await tap.wait_for(
            lambda t: len(mine(t, "notifications.sent")) == 4 and len(mine(t, "notifications.failed")) == 2,
            what="4 webhooks sent and 2 failed",
            timeout=120,  # two Retry-After waits and the shared notifier's queue: 42-49 s in CI, once over 60
        )
    calls = {name: Receiver.calls[f"/{run}/{name}"] for name in people}
    assert [len(calls[name]) for name in ("ok", "flaky", "gone", "moved")] == [3, 3, 1, 1]
    assert len({headers[IDEMPOTENCY_HEADER] for _, headers, _ in calls["flaky"]}) == 1
    flaky_times = [at for at, _, _ in calls["flaky"]]
    assert all(later - earlier >= RETRY_AFTER_S - 0.2 for earlier, later in itertools.pairwise(flaky_times))
    for _, headers, body in calls["ok"] + calls["flaky"]:
        assert headers[SIGNATURE_HEADER] == hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        assert str(json.loads(body)["timestamp"]) == headers[TIMESTAMP_HEADER]
        assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER], now=time.time())
        assert not verify(b"wrong", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER], now=time.time())
    failed = {f["person_id"]: f["error"] for f in mine(tap, "notifications.failed")}
    assert set(failed) == {people["gone"]["person_id"], people["moved"]["person_id"]}
    assert "410" in failed[people["gone"]["person_id"]]
    assert "update the webhook URL" in failed[people["moved"]["person_id"]]


async def test_a_person_who_withdraws_while_a_webhook_waits_for_a_retry_gets_nothing(stack, receiver):
    run = uuid.uuid4().hex[:6]
    leaver = hooked(run, receiver, "leaver", "/busy", ["sql"], ["excel"])
    stayer = hooked(run, receiver, "stayer", "/ok", ["excel"], ["sql"])
    proposal = make_proposal(ORG, leaver, stayer, ("sql", "query"), ("excel", "model")) | {"match_id": f"m-{run}"}
    topics = ["notifications.sent", "notifications.failed"]
    mongo = AsyncMongoClient(stack.mongo_url)
    deliveries = mongo["reciprocal_notifier"]["deliveries"]  # the notifier's own records
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, topics) as tap:
        for p in (leaver, stayer):
            await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
        cause = (await fe.publish("matches.proposed", proposal))["event_id"]
        busy = Receiver.calls[f"/{run}/busy"]
        for _ in range(300):
            if busy:
                break
            await asyncio.sleep(0.1)
        assert len(busy) == 1, "the first attempt did not reach the receiver"
        await fe.publish("profiles.changed", ProfileChanged(**leaver, version=2, active=False).model_dump(mode="json"))
        query = {"cause_event_id": cause, "person_id": leaver["person_id"]}
        for _ in range(300):
            doc = await deliveries.find_one(query)
            if doc["status"] not in ("pending", "sending"):
                break
            await asyncio.sleep(0.1)
        assert (doc["status"], doc["last_error"]) == ("suppressed", "recipient withdrawn")
        await asyncio.sleep(1)
        mine = [n for t in topics for n in of_org(tap.events(t), ORG) if n["cause_event_id"] == cause]
    await mongo.close()
    assert len(busy) == 1
    assert [(n["person_id"], n["event_type"]) for n in mine] == [(stayer["person_id"], "notifications.sent")]


async def test_webhooks_to_internal_addresses_are_refused_at_acceptance_and_at_send_time(stack):
    """Server-side request forgery: a profile aiming the notifier at cloud metadata is rejected by the
    profiles service; an address that got past it (here published straight to profiles.changed, as
    a changed DNS answer would) fails the delivery with notifications.failed and is never called."""
    run = uuid.uuid4().hex[:6]
    metadata = profile(ORG, f"meta-{run}", offers=["sql"], wants=["excel"], channels=["webhook"],
                       webhook_url="http://169.254.169.254/latest/meta-data/")
    inside = profile(ORG, f"inside-{run}", offers=["sql"], wants=["excel"], channels=["webhook"],
                     webhook_url="https://10.255.255.1/hook")
    partner = profile(ORG, f"partner-{run}", offers=["excel"], wants=["sql"])
    proposal = make_proposal(ORG, inside, partner, ("sql", "query"), ("excel", "model")) | {"match_id": f"m-{run}"}
    topics = ["profiles.rejected", "notifications.failed", "notifications.sent"]
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, topics) as tap:
        await fe.publish("profiles.submitted", metadata)
        for p in (inside, partner):
            await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
        cause = (await fe.publish("matches.proposed", proposal))["event_id"]
        await tap.wait_for(lambda t: any(r["person_id"] == metadata["person_id"]
                                         for r in of_org(t.events("profiles.rejected"), ORG)), what="the rejection")
        await tap.wait_for(lambda t: any(n["cause_event_id"] == cause and n["person_id"] == inside["person_id"]
                                         for n in of_org(t.events("notifications.failed"), ORG)), what="the failure")
    rejection = next(r for r in of_org(tap.events("profiles.rejected"), ORG) if r["person_id"] == metadata["person_id"])
    assert [(e["field"], e["message"]) for e in rejection["errors"]] == [
        ("webhook_url", "is refused: it points at a link-local address (such as the cloud metadata service)")]
    failed = next(n for n in of_org(tap.events("notifications.failed"), ORG)
                  if n["cause_event_id"] == cause and n["person_id"] == inside["person_id"])
    assert "private or reserved address" in failed["error"] and "10.255" not in failed["error"]
