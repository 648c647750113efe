"""The SMTP and webhook adapters, against fakes: which answers are transient, which permanent."""

import json

import aiosmtplib
import httpx
import pytest

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


@pytest.mark.parametrize(("code", "failure"), [(450, TransientFailure), (451, TransientFailure),
                                               (452, TransientFailure), (550, PermanentFailure),
                                               (553, PermanentFailure)])
async def test_smtp_recipient_refusals_4xx_are_transient_5xx_permanent(code, failure, monkeypatch):
    async def refuse(*_, **__):
        raise aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(code, "no", "ana@acme.test")])

    monkeypatch.setattr(senders.aiosmtplib, "send", refuse)
    with pytest.raises(failure, match=str(code)):
        await Mailer(SETTINGS).send(EMAIL)
