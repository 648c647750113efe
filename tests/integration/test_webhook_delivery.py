"""Signed webhooks against a real local receiver: verified signatures, retries with the same
idempotency key, and notifications.failed for a permanent refusal."""

import threading
import time
import uuid
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reciprocal.processes import free_port
from reciprocal.wire import Frontend, Tap
from services.notifier.domain import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from shared.contract import ProfileChanged
from support import of_org, profile
from support import proposal as make_proposal

ORG = "webhook-org"  # the stack's notifier has a webhook secret for this org only
SECRET = b"s3cret"


class Receiver(BaseHTTPRequestHandler):
    calls: dict[str, list[tuple[dict[str, str], bytes]]] = defaultdict(list)
    answers = {"/ok": [200], "/flaky": [503, 503, 200], "/gone": [410]}

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        calls = self.calls[self.path]
        calls.append((dict(self.headers), body))
        answers = self.answers[self.path]
        self.send_response(answers[min(len(calls), len(answers)) - 1])
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


async def test_webhooks_are_signed_retried_and_failures_reported(stack, receiver):
    run = uuid.uuid4().hex[:6]
    people = {
        name: profile(ORG, f"{name}-{run}", offers=offers, wants=wants, channels=["webhook"],
                      webhook_url=f"{receiver}/{name}")
        for name, offers, wants in (("ok", ["sql"], ["coaching"]), ("flaky", ["coaching"], ["sql"]),
                                    ("gone", ["excel"], ["sql"]))
    }
    first = make_proposal(ORG, people["ok"], people["flaky"], ("sql", "query data"), ("coaching", "coach"))
    first["match_id"] = f"m-1-{run}"
    second = make_proposal(ORG, people["gone"], people["ok"], ("excel", "model"), ("sql", "query data"))
    second["match_id"] = f"m-2-{run}"
    topics = ["notifications.sent", "notifications.failed"]
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, topics) as tap:
        for p in people.values():
            await fe.publish("profiles.changed", ProfileChanged(**p, version=1).model_dump(mode="json"))
        events = [await fe.publish("matches.proposed", first), await fe.publish("matches.proposed", second)]
        causes = {e["event_id"] for e in events}

        def mine(t: Tap, topic: str) -> list[dict]:
            return [n for n in of_org(t.events(topic), ORG) if n["cause_event_id"] in causes]

        await tap.wait_for(lambda t: len(mine(t, "notifications.sent")) == 3 and mine(t, "notifications.failed"),
                           what="3 webhooks sent and 1 failed", timeout=60)
    assert len(Receiver.calls["/ok"]) == 2
    assert len(Receiver.calls["/flaky"]) == 3
    assert len({h[IDEMPOTENCY_HEADER] for h, _ in Receiver.calls["/flaky"]}) == 1
    for headers, body in Receiver.calls["/ok"] + Receiver.calls["/flaky"]:
        assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER], now=time.time())
        assert not verify(b"wrong", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER], now=time.time())
    failed = mine(tap, "notifications.failed")
    assert [(f["person_id"], f["channel"]) for f in failed] == [(people["gone"]["person_id"], "webhook")]
    assert "410" in failed[0]["error"]
