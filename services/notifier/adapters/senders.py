"""The outside world: SMTP with aiosmtplib and signed webhooks with httpx."""

import asyncio
import json
import time
from collections.abc import Callable
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
    """Sends each message over a kept-open SMTP connection when one is idle, so a busy replica pays the
    connection, EHLO (and STARTTLS and AUTH) once per connection instead of once per message. One
    connection carries one message at a time; at most `delivery_concurrency` are in use at once (the
    Deliverer's bound), and one left idle longer than `smtp_keepalive_s` is closed. A connection on
    which anything went wrong (a refusal, a timeout, a cancelled send) is closed, never reused."""

    def __init__(self, settings: NotifierSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self.idle: list[tuple[aiosmtplib.SMTP, float]] = []  # (connection, idle since), the newest last
        self.opened = 0  # connections opened, for tests and benchmarks

    async def send(self, delivery: dict[str, Any]) -> None:
        message = email_message(delivery, self.settings)
        try:
            client, reused = await self._connection()
            try:
                await self._send_on(client, message)
            except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                if not reused:
                    raise
                # The server dropped an idle connection before we noticed: nothing went out on it.
                client, _ = await self._connection(fresh=True)
                await self._send_on(client, message)
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

    async def _send_on(self, client: aiosmtplib.SMTP, message: EmailMessage) -> None:
        """Send on `client`, then keep it for the next message; close it if anything goes wrong
        (a cancellation included: a send given up on never waits for the server to say goodbye)."""
        try:
            await client.send_message(message)
        except BaseException:
            client.close()
            raise
        if self.settings.smtp_keepalive_s > 0 and client.is_connected:
            self.idle.append((client, self.clock()))
        else:
            await _quit(client)

    async def _connection(self, *, fresh: bool = False) -> tuple[aiosmtplib.SMTP, bool]:
        """An idle connection that is still open (True: reused), or a new one."""
        now = self.clock()
        while self.idle and not fresh:
            client, since = self.idle.pop()
            if client.is_connected and now - since <= self.settings.smtp_keepalive_s:
                return client, True
            client.close()
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            start_tls=s.smtp_starttls,
            use_tls=s.smtp_use_tls,
            timeout=s.smtp_timeout_s,
        )
        try:
            await client.connect()
        except BaseException:
            client.close()
            raise
        self.opened += 1
        return client, False

    async def close(self) -> None:
        """Say goodbye on every idle connection."""
        idle, self.idle = self.idle, []
        await asyncio.gather(*(_quit(client) for client, _ in idle))


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await asyncio.wait_for(client.quit(), timeout=1.0)
    except Exception:  # it is going away either way
        client.close()


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
