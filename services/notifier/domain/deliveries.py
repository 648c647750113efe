"""A delivery: one message to one recipient on one channel, from recorded to sent, failed or suppressed.

Its identity is deterministic, so a redelivered event maps onto the same send. A sender claims it
for a lease; a sender that dies mid-send leaves the claim behind, and whoever claims it next sends it
again under the same Message-ID / Idempotency-Key."""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from services.notifier.domain.model import Contact, Message
from services.notifier.domain.retries import RetryPolicy
from services.notifier.domain.webhooks import webhook_payload
from shared.contract import Event, NotificationFailed, NotificationSent

DELIVERY_NAMESPACE = UUID("6f1c3a52-4d0e-5b8a-9c1e-7a2f0d9b3e41")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_LOCAL = re.compile(r"[A-Za-z0-9._+=-]+")


def delivery_id(cause_event_id: str | UUID, person_id: str, channel: str) -> str:
    """One id per (cause event, recipient, channel): the key of the delivery ledger."""
    return str(uuid5(DELIVERY_NAMESPACE, "\x1f".join((str(cause_event_id), person_id, channel))))


def message_id(delivery_id: str, domain: str) -> str:
    """RFC 5322 Message-ID for an email delivery; the same delivery always gets the same id."""
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(f"not a usable Message-ID domain: {domain!r}")
    if not _LOCAL.fullmatch(delivery_id):
        raise ValueError(f"not a usable Message-ID left part: {delivery_id!r}")
    return f"<{delivery_id}@{domain}>"


def suppression(contact: Contact | None, *, had_card: bool = True) -> str | None:
    """Why a queued email or webhook must not go out after all (None: send it). Checked just before
    sending: a person who withdrew, or whose contact card was removed, gets nothing further. A
    submitter who never had a card (a first profile rejected) is still told."""
    if contact is None:
        return "recipient gone" if had_card else None
    if not contact.active:
        return "recipient withdrawn"
    return None


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (due at next_attempt_at)
    SENDING = "sending"  # claimed by a sender until its lease expires
    SENT = "sent"
    FAILED = "failed"  # permanently, or out of attempts: notifications.failed
    SUPPRESSED = "suppressed"  # the recipient withdrew before it went out: nothing is published


FINISHED = frozenset({DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SUPPRESSED})


class IllegalTransition(Exception):
    """A delivery was asked to change in a way its status does not allow."""


@dataclass(frozen=True)
class Claimant:
    """A sender: the replica (`instance`, stable across restarts) and this run of its process. A replica
    restarted under the same instance takes back its previous run's claims at once: that run is dead."""

    instance: str
    run: str


@dataclass(kw_only=True)
class Delivery:
    id: str
    org_id: str
    person_id: str
    channel: str
    kind: str
    cause_event_id: str
    correlation_id: str | None
    created_at: datetime
    content: dict[str, Any] = field(default_factory=dict)
    """What the sender needs: the email's headers, bodies and invite, or the webhook URL and payload."""
    contact_on_file: bool = True
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime
    claimed_by: str | None = None
    claim_run: str | None = None
    claimed_at: datetime | None = None
    lease_expires_at: datetime | None = None
    last_error: str | None = None
    finished_at: datetime | None = None
    version: int = 0
    """Bumped by the repository on every save; a save of a stale copy is refused."""

    @classmethod
    def for_message(
        cls, event: Event, contact: Contact, message: Message, channel: str, *, now: datetime,
        message_id_domain: str, contact_on_file: bool,
    ) -> "Delivery":
        did = delivery_id(event.event_id, contact.person_id, channel)
        content: dict[str, Any] = {}
        if channel == "email":
            content = {
                "to": contact.email, "subject": message.subject, "text": message.text, "html": message.html,
                "calendar": message.calendar, "calendar_method": message.calendar_method,
                "message_id": message_id(did, message_id_domain),
            }
        elif channel == "webhook":
            content = {"url": contact.webhook_url, "payload": webhook_payload(event, contact, message)}
        return cls(
            id=did, org_id=event.org_id, person_id=contact.person_id, channel=channel, kind=message.kind,
            cause_event_id=str(event.event_id), correlation_id=event.correlation_id, created_at=now,
            content=content, contact_on_file=contact_on_file, next_attempt_at=now,
        )

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def send_request(self) -> dict[str, Any]:
        """What a sender sends: the content, with the delivery id (the webhook's Idempotency-Key)."""
        return {"_id": self.id, "org_id": self.org_id, **self.content}

    def claimable_by(self, claimant: Claimant, now: datetime) -> bool:
        """Due and waiting, or claimed by a sender that is gone: its lease expired, or it was an
        earlier run of the claimant's own replica."""
        if self.status == DeliveryStatus.PENDING:
            return self.next_attempt_at <= now
        if self.status == DeliveryStatus.SENDING:
            lease_expired = self.lease_expires_at is None or self.lease_expires_at <= now
            earlier_run = self.claimed_by == claimant.instance and self.claim_run != claimant.run
            return lease_expired or earlier_run
        return False

    def due_since(self, now: datetime) -> datetime | None:
        """Since when this delivery has been waiting for a sender; None if it is not waiting."""
        if self.status == DeliveryStatus.PENDING and self.next_attempt_at <= now:
            return self.next_attempt_at
        if self.status == DeliveryStatus.SENDING and self.lease_expires_at is not None and self.lease_expires_at <= now:
            return self.lease_expires_at
        return None

    def claim(self, claimant: Claimant, now: datetime, lease_s: float) -> list[Event]:
        if not self.claimable_by(claimant, now):
            raise IllegalTransition(f"delivery {self.id} is {self.status} and cannot be claimed now")
        self.status = DeliveryStatus.SENDING
        self.claimed_by, self.claim_run, self.claimed_at = claimant.instance, claimant.run, now
        self.lease_expires_at = now + timedelta(seconds=lease_s)
        return []

    def mark_sent(self, now: datetime) -> list[Event]:
        self._require(DeliveryStatus.SENDING, "marked sent")
        self._finish(DeliveryStatus.SENT, now, attempts=self.attempts + 1)
        return [self._sent()]

    def deliver_in_app(self, now: datetime) -> list[Event]:
        """The inbox is the notifier's own store: recording the entry is the send."""
        if self.channel != "inbox":
            raise IllegalTransition(f"a {self.channel} delivery is not delivered in the app")
        self._require(DeliveryStatus.PENDING, "delivered in the app")
        self._finish(DeliveryStatus.SENT, now, attempts=1)
        return [self._sent()]

    def mark_transient_failure(
        self, error: str, now: datetime, policy: RetryPolicy, retry_after_s: float | None = None
    ) -> list[Event]:
        """Try again later, or give up once the policy's attempts are spent."""
        self._require(DeliveryStatus.SENDING, "retried")
        attempts = self.attempts + 1
        if policy.gives_up_after(attempts):
            return self._fail(f"gave up after {attempts} attempts: {error}", now, attempts)
        self.status, self.attempts, self.last_error = DeliveryStatus.PENDING, attempts, error
        self.next_attempt_at = now + timedelta(seconds=policy.delay(attempts, retry_after_s))
        self.lease_expires_at = None
        return []

    def fail(self, error: str, now: datetime) -> list[Event]:
        """A permanent failure: retrying cannot help."""
        self._require(DeliveryStatus.SENDING, "failed")
        return self._fail(error, now, self.attempts + 1)

    def suppress(self, reason: str, now: datetime) -> list[Event]:
        """Nothing was sent, and nothing went wrong that anyone should act on: no event."""
        self._require(DeliveryStatus.SENDING, "suppressed")
        self._finish(DeliveryStatus.SUPPRESSED, now, attempts=self.attempts, error=reason)
        return []

    def _fail(self, error: str, now: datetime, attempts: int) -> list[Event]:
        self._finish(DeliveryStatus.FAILED, now, attempts=attempts, error=error)
        return [NotificationFailed(
            org_id=self.org_id, correlation_id=self.correlation_id, notification_id=self.id,
            person_id=self.person_id, channel=self.channel, cause_event_id=self.cause_event_id, error=error,
        )]

    def _finish(self, status: DeliveryStatus, now: datetime, *, attempts: int, error: str | None = None) -> None:
        self.status, self.attempts, self.last_error, self.finished_at = status, attempts, error, now
        self.lease_expires_at = None

    def _sent(self) -> NotificationSent:
        return NotificationSent(
            org_id=self.org_id, correlation_id=self.correlation_id, notification_id=self.id,
            person_id=self.person_id, channel=self.channel, cause_event_id=self.cause_event_id,
        )

    def _require(self, status: DeliveryStatus, change: str) -> None:
        if self.status != status:
            raise IllegalTransition(f"delivery {self.id} is {self.status} and cannot be {change}")
