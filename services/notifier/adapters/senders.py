"""The outside world: SMTP with aiosmtplib and signed webhooks with httpx."""

import time
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import aiosmtplib
import httpx

from services.notifier.domain import signed_headers
from services.notifier.settings import NotifierSettings


class PermanentFailure(Exception):
    """Retrying cannot help (a refused recipient, a 4xx webhook answer, no secret)."""


class TransientFailure(Exception):
    """Worth retrying later (a connection problem, a 5xx or 429, a 4xx SMTP answer)."""


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
            raise PermanentFailure(f"recipient refused: {exc.recipients[0].code}") from exc
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
        body = bytes(delivery["body"])
        headers = signed_headers(
            secret.get_secret_value().encode(), body, timestamp=str(int(time.time())), idempotency_key=delivery["_id"]
        )
        try:
            response = await self.client.post(delivery["url"], content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientFailure(type(exc).__name__) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientFailure(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise PermanentFailure(f"HTTP {response.status_code}")

    async def close(self) -> None:
        await self.client.aclose()
