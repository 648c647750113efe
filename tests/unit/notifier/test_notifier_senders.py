"""The SMTP and webhook adapters, against fakes: which answers are transient, which permanent."""

import asyncio
import json

import aiosmtplib
import httpx
import pytest
from aiosmtpd.controller import Controller

from reciprocal.processes import free_port
from services.notifier.adapters import senders
from services.notifier.adapters.senders import Mailer, PermanentFailure, TransientFailure, WebhookSender
from services.notifier.domain import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, encode_body, verify
from services.notifier.settings import NotifierSettings

SETTINGS = NotifierSettings(webhook_secrets={"acme": "s3cret"}, webhook_allowed_hosts=["hooks.acme.test"])
WEBHOOK = {"_id": "d-1", "org_id": "acme", "url": "https://hooks.acme.test/in", "payload": {"type": "match_proposed"}}
EMAIL = {"_id": "d-2", "to": "ana@acme.test", "subject": "Hi", "message_id": "<d-2@reciprocal.local>",
         "text": "Hello", "html": "<p>Hello</p>"}


def webhooks(*answers: httpx.Response) -> tuple[WebhookSender, list[httpx.Request]]:
    sender, seen = WebhookSender(SETTINGS), []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[min(len(seen), len(answers)) - 1]

    sender.client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return sender, seen


async def test_each_send_builds_a_freshly_stamped_and_signed_body(monkeypatch):
    sender, seen = webhooks(httpx.Response(200))
    for now in (1_800_000_000, 1_800_000_060):
        monkeypatch.setattr(senders.time, "time", lambda now=now: now + 0.5)
        await sender.send(WEBHOOK)
    bodies = [json.loads(r.content) for r in seen]
    assert [b["timestamp"] for b in bodies] == [1_800_000_000, 1_800_000_060]
    for request, now in zip(seen, (1_800_000_000, 1_800_000_060), strict=True):
        assert request.headers[TIMESTAMP_HEADER] == str(now) and request.headers[IDEMPOTENCY_HEADER] == "d-1"
        assert verify(b"s3cret", request.headers[TIMESTAMP_HEADER], request.content, request.headers[SIGNATURE_HEADER],
                      now=now)


async def test_a_delivery_recorded_with_an_encoded_body_is_still_sent():
    sender, seen = webhooks(httpx.Response(204))
    legacy = {k: v for k, v in WEBHOOK.items() if k != "payload"} | {"body": encode_body({"type": "old"})}
    await sender.send(legacy)
    assert json.loads(seen[0].content)["type"] == "old"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirect_is_permanent_and_says_to_update_the_url(status):
    sender, _ = webhooks(httpx.Response(status, headers={"Location": "https://elsewhere.test/"}))
    with pytest.raises(PermanentFailure, match="update the webhook URL"):
        await sender.send(WEBHOOK)


@pytest.mark.parametrize(("status", "retry_after", "expected"), [
    (429, "30", 30.0), (503, "7", 7.0), (503, "Wed, 21 Oct 2015 07:28:00 GMT", None), (429, None, None),
])
async def test_throttling_answers_are_transient_and_carry_retry_after(status, retry_after, expected):
    headers = {"Retry-After": retry_after} if retry_after else {}
    sender, _ = webhooks(httpx.Response(status, headers=headers))
    with pytest.raises(TransientFailure) as caught:
        await sender.send(WEBHOOK)
    assert caught.value.retry_after_s == expected


async def test_server_errors_are_transient_and_client_errors_permanent():
    sender, _ = webhooks(httpx.Response(500, headers={"Retry-After": "9"}))
    with pytest.raises(TransientFailure) as caught:
        await sender.send(WEBHOOK)
    assert caught.value.retry_after_s is None
    sender, _ = webhooks(httpx.Response(410))
    with pytest.raises(PermanentFailure, match="410"):
        await sender.send(WEBHOOK)


class Sink:
    """A real SMTP server on loopback (aiosmtpd) that refuses the recipients it is told to, with their code."""

    def __init__(self) -> None:
        self.refuse: dict[str, int] = {}
        self.mails: list[tuple[int, bytes]] = []  # (the connection's session, the message)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return f"{self.refuse[address]} no"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.mails.append((id(session), envelope.content))
        return "250 Message accepted for delivery"

    def connections(self) -> int:
        return len({session for session, _ in self.mails})


@pytest.fixture
def sink():
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def mailer(sink: Sink, **settings) -> Mailer:
    return Mailer(NotifierSettings(smtp_port=sink.port, **settings))


def email(i: int, to: str = "ana@acme.test") -> dict:
    return EMAIL | {"_id": f"d-{i}", "message_id": f"<d-{i}@reciprocal.local>", "to": to}


@pytest.mark.parametrize(("code", "failure"), [(450, TransientFailure), (451, TransientFailure),
                                               (452, TransientFailure), (550, PermanentFailure),
                                               (553, PermanentFailure)])
async def test_smtp_recipient_refusals_4xx_are_transient_5xx_permanent(code, failure, sink):
    sink.refuse["ana@acme.test"] = code
    m = mailer(sink)
    with pytest.raises(failure, match=str(code)):
        await m.send(EMAIL)
    assert m.idle == [], "a connection on which a send failed is kept for the next"
    await m.close()


async def test_messages_in_a_row_share_one_smtp_connection(sink):
    m = mailer(sink)
    for i in range(3):
        await m.send(email(i))
    assert len(sink.mails) == 3 and sink.connections() == 1 and m.opened == 1
    await m.close()
    assert m.idle == []


async def test_sends_side_by_side_each_get_a_connection_and_keep_it(sink):
    m = mailer(sink)
    await asyncio.gather(*(m.send(email(i)) for i in range(3)))
    await asyncio.gather(*(m.send(email(i)) for i in range(3, 6)))
    assert len(sink.mails) == 6 and m.opened == 3 and len(m.idle) == 3
    await m.close()


async def test_after_a_refusal_the_next_message_goes_out_on_a_new_connection(sink):
    sink.refuse["gone@acme.test"] = 550
    m = mailer(sink)
    await m.send(email(1))
    with pytest.raises(PermanentFailure):
        await m.send(email(2, to="gone@acme.test"))
    await m.send(email(3))
    assert len(sink.mails) == 2 and m.opened == 2


async def test_an_idle_connection_past_its_keepalive_is_closed_and_not_used(sink):
    clock = [0.0]
    m = Mailer(NotifierSettings(smtp_port=sink.port, smtp_keepalive_s=5), clock=lambda: clock[0])
    await m.send(email(1))
    (idle, _), = m.idle
    clock[0] = 6.0
    await m.send(email(2))
    assert m.opened == 2 and not idle.is_connected and sink.connections() == 2
    await m.close()


async def test_without_keepalive_each_message_has_its_own_connection(sink):
    m = mailer(sink, smtp_keepalive_s=0)
    for i in range(2):
        await m.send(email(i))
    assert m.opened == 2 and m.idle == [] and sink.connections() == 2


class Dropped:
    """An idle connection the server has closed without our noticing yet."""

    is_connected = True
    closed = False

    async def send_message(self, message) -> None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")

    def close(self) -> None:
        self.closed = True


async def test_a_connection_the_server_dropped_while_idle_is_replaced_and_the_message_still_goes_out(sink):
    m = mailer(sink)
    dropped = Dropped()
    m.idle.append((dropped, m.clock()))  # type: ignore[arg-type]
    await m.send(email(1))
    assert dropped.closed and len(sink.mails) == 1 and m.opened == 1
    await m.close()


async def test_a_new_connection_that_fails_is_a_transient_failure():
    m = Mailer(NotifierSettings(smtp_port=free_port()))  # nothing listens there
    with pytest.raises(TransientFailure):
        await m.send(EMAIL)
