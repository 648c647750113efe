"""The outside world: SMTP with aiosmtplib and signed webhooks with httpx."""

import json
import time
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import aiosmtplib
import httpx

from services.notifier.domain import retry_after_seconds, signed_request
from services.notifier.settings import NotifierSettings
from shared.egress import resolved_refusal


class PermanentFailure(Exception):
    """Retrying cannot help (a 5xx SMTP refusal, a 3xx or 4xx webhook answer, no secret)."""


class TransientFailure(Exception):
    """Worth retrying later (a connection problem, a 5xx or 429 webhook answer, a 4xx SMTP answer)."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def email_message(delivery: dict[str, Any], settings: NotifierSettings) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = delivery["to"]
    msg["Subject"] = delivery["subject"]
    msg["Message-ID"] = delivery["message_id"]
    msg["Date"] = formatdate(usegmt=True)
    msg.set_content(delivery["text"])
    msg.add_alternative(delivery["html"], subtype="html")
    if delivery.get("calendar"):
        method = delivery["calendar_method"]
        msg.add_alternative(bytes(delivery["calendar"]), maintype="text", subtype="calendar", params={"method": method})
        msg.add_attachment(bytes(delivery["calendar"]), maintype="application", subtype="ics", filename="invite.ics")
    return msg


class Mailer:
    def __init__(self, settings: NotifierSettings) -> None:
        self.settings = settings

    async def send(self, delivery: dict[str, Any]) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(
                email_message(delivery, s),
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                start_tls=s.smtp_starttls,
                use_tls=s.smtp_use_tls,
                timeout=s.smtp_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            code = exc.recipients[0].code
            if 400 <= code < 500:  # greylisting, a full mailbox: the server asks us to come back
                raise TransientFailure(f"recipient deferred: {code}") from exc
            raise PermanentFailure(f"recipient refused: {code}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentFailure(f"SMTP {exc.code}") from exc
            raise TransientFailure(f"SMTP {exc.code}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TransientFailure(type(exc).__name__) from exc


class WebhookSender:
    def __init__(self, settings: NotifierSettings) -> None:
        self.settings = settings
        self.client = httpx.AsyncClient(timeout=settings.webhook_timeout_s)

    async def send(self, delivery: dict[str, Any]) -> None:
        secret = self.settings.webhook_secrets.get(delivery["org_id"])
        if secret is None:
            raise PermanentFailure("no webhook secret is configured for this organisation")
        if why := await resolved_refusal(delivery["url"], self.settings.egress):  # DNS may have changed since
            raise PermanentFailure(f"the webhook address {why}")
        body, headers = signed_request(
            secret.get_secret_value().encode(), _payload(delivery), timestamp=int(time.time()),
            idempotency_key=delivery["_id"],
        )
        try:
            response = await self.client.post(delivery["url"], content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientFailure(type(exc).__name__) from exc
        status = response.status_code
        if status in (429, 503):
            retry_after_s = retry_after_seconds(response.headers.get("Retry-After"))
            raise TransientFailure(f"HTTP {status}", retry_after_s=retry_after_s)
        if status >= 500:
            raise TransientFailure(f"HTTP {status}")
        if status >= 400:
            raise PermanentFailure(f"HTTP {status}")
        if status >= 300:
            raise PermanentFailure(f"HTTP {status}: redirected; update the webhook URL")

    async def close(self) -> None:
        await self.client.aclose()


def _payload(delivery: dict[str, Any]) -> dict[str, Any]:
    """The stored payload; deliveries recorded before payloads were stored kept the encoded body."""
    return delivery["payload"] if "payload" in delivery else json.loads(bytes(delivery["body"]))
