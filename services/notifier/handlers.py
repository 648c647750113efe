"""Notifier service layer: keep contacts, turn events into deliveries, and deliver each exactly once."""

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from services.notifier.adapters.repository import FAILED, SENT, SUPPRESSED, NotifierRepository
from services.notifier.adapters.senders import Mailer, PermanentFailure, TransientFailure, WebhookSender
from services.notifier.domain import (
    Background,
    Contact,
    Message,
    contact_from_profile,
    contact_from_rejection,
    delivery_id,
    message_id,
    recipients,
    render,
    retry_delay,
    suppression,
    webhook_payload,
)
from services.notifier.settings import NotifierSettings
from shared.contract import (
    Event,
    MatchAccepted,
    MatchWithdrawn,
    NotificationFailed,
    NotificationSent,
    ProfileChanged,
    ProfileRejected,
    ScheduleCreated,
    ScheduleUpdated,
    SessionUpcoming,
)
from shared.store import Tx, UnitOfWork

log = structlog.get_logger()


async def profile_changed(
    event: ProfileChanged, uow: UnitOfWork, repo: NotifierRepository, settings: NotifierSettings
) -> None:
    """Keep the contact card; events that were waiting for this person are delivered now."""

    async def work(tx: Tx) -> None:
        await repo.save_contact(tx, contact_from_profile(event))
        for parked in await repo.parked_for(event.org_id, event.person_id, tx):
            if await _deliveries_for(tx, repo, settings, parked):
                await repo.unpark(tx, parked)

    await uow.run(event, work)


async def notify(event: Event, uow: UnitOfWork, repo: NotifierRepository, settings: NotifierSettings) -> None:
    """Render the event for everyone it concerns and record one delivery per chosen channel."""

    async def work(tx: Tx) -> None:
        if isinstance(event, MatchAccepted):
            await repo.remember_partnership(tx, event)
        if isinstance(event, ScheduleCreated | ScheduleUpdated):
            await repo.remember_schedule(tx, event)
        await _deliveries_for(tx, repo, settings, event)

    await uow.run(event, work)


async def _deliveries_for(tx: Tx, repo: NotifierRepository, settings: NotifierSettings, event: Event) -> bool:
    """Record the event's deliveries, or park it until every recipient's contact card has arrived
    (topics are not ordered with each other, so a proposal can overtake a profile). False if parked."""
    people = recipients(event)
    contacts = await repo.contacts_of(event.org_id, people, tx)
    on_file = set(contacts)
    if isinstance(event, ProfileRejected):
        contacts[event.person_id] = contact_from_rejection(event, contacts.get(event.person_id))
    missing = [p for p in people if p not in contacts]
    if missing:
        await repo.park(tx, event, missing)
        log.info("notifier.waiting_for_contacts", missing=len(missing))
        return False
    background = await _background(tx, repo, settings, event)
    for person_id in people:
        contact = contacts[person_id]
        message = render(event, contact, contacts, background)
        if message is None:
            continue
        for channel in contact.deliverable_channels():
            await _record_delivery(tx, repo, settings, event, contact, message, channel, on_file=person_id in on_file)
    return True


async def _background(tx: Tx, repo: NotifierRepository, settings: NotifierSettings, event: Event) -> Background:
    partnership = isinstance(event, MatchWithdrawn) and (
        event.partnership_ended or await repo.is_partnership(event.org_id, event.match_id, tx)
    )
    session = None
    if isinstance(event, SessionUpcoming):
        session = await repo.session(event.org_id, event.match_id, event.session_id, tx)
    return Background(organizer=settings.mail_from, partnership=partnership, session=session)


async def _record_delivery(
    tx: Tx,
    repo: NotifierRepository,
    settings: NotifierSettings,
    event: Event,
    contact: Contact,
    message: Message,
    channel: str,
    *,
    on_file: bool,
) -> None:
    now = datetime.now(UTC)
    did = delivery_id(event.event_id, contact.person_id, channel)
    doc: dict[str, Any] = {
        "_id": did,
        "org_id": event.org_id,
        "person_id": contact.person_id,
        "channel": channel,
        "kind": message.kind,
        "cause_event_id": str(event.event_id),
        "correlation_id": event.correlation_id,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "claimed_at": None,
        "contact_on_file": on_file,
    }
    if channel == "email":
        doc |= {
            "to": contact.email,
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
            "calendar": message.calendar,
            "calendar_method": message.calendar_method,
            "message_id": message_id(did, settings.message_id_domain),
        }
    elif channel == "webhook":
        doc |= {"url": contact.webhook_url, "payload": webhook_payload(event, contact, message)}
    elif channel == "inbox":
        doc |= {"status": SENT, "attempts": 1, "finished_at": now}
    if not await repo.add_delivery(tx, doc):
        return
    if channel == "inbox":
        await repo.add_inbox_entry(
            tx,
            {
                "entry_id": did,
                "org_id": event.org_id,
                "person_id": contact.person_id,
                "kind": message.kind,
                "subject": message.subject,
                "text": message.text,
                "data": message.data,
                "cause_event_id": str(event.event_id),
                "created_at": event.occurred_at,
                "read_at": None,
            },
        )
        tx.emit(_sent(event.org_id, event.correlation_id, doc))


def _sent(org_id: str, correlation_id: str | None, delivery: dict[str, Any]) -> NotificationSent:
    return NotificationSent(
        org_id=org_id,
        correlation_id=correlation_id,
        notification_id=delivery["_id"],
        person_id=delivery["person_id"],
        channel=delivery["channel"],
        cause_event_id=delivery["cause_event_id"],
    )


class Deliverer:
    """Sends due email and webhook deliveries. A delivery is claimed with a guarded update, so with
    several replicas each is sent by one. A sender that dies mid-send leaves the claim behind: the same
    instance, restarted, takes it back at once; any other replica once the lease expires. The delivery
    is then sent again with the same Message-ID / Idempotency-Key, so the receiver can recognise the
    repeat: nothing is dropped silently."""

    def __init__(self, uow: UnitOfWork, repo: NotifierRepository, settings: NotifierSettings, owner: str) -> None:
        self.uow = uow
        self.repo = repo
        self.settings = settings
        self.owner = owner
        self.started_at = datetime.now(UTC)
        self.mailer = Mailer(settings)
        self.webhooks = WebhookSender(settings)

    async def deliver_due(self) -> int:
        done = 0
        due = await self.repo.due_deliveries(
            datetime.now(UTC), self.settings.delivery_lease_s, owner=self.owner, owner_started_at=self.started_at
        )
        for delivery in due:
            if await self.repo.claim(delivery, self.owner):
                await self.deliver(delivery)
                done += 1
        return done

    async def deliver(self, delivery: dict[str, Any]) -> None:
        """Send one claimed delivery, unless its recipient has withdrawn since it was recorded. An
        unexpected error counts as a transient failure, so the delivery is retried and, in the end,
        reported with notifications.failed instead of staying claimed forever."""
        attempts = delivery["attempts"] + 1
        structlog.contextvars.bind_contextvars(delivery_id=delivery["_id"], channel=delivery["channel"])
        try:
            suppressed = await self._suppression(delivery)
            if not suppressed:
                await (self.mailer if delivery["channel"] == "email" else self.webhooks).send(delivery)
        except PermanentFailure as exc:
            await self._finish(delivery, FAILED, attempts, str(exc))
        except TransientFailure as exc:
            await self._retry_or_fail(delivery, attempts, str(exc), exc.retry_after_s)
        except Exception as exc:
            log.error("delivery.unexpected_error", attempts=attempts, error_type=type(exc).__name__)  # text may be personal
            await self._retry_or_fail(delivery, attempts, f"unexpected {type(exc).__name__}")
        else:
            if suppressed:
                await self._finish(delivery, SUPPRESSED, delivery["attempts"], suppressed)
            else:
                await self._finish(delivery, SENT, attempts)
        finally:
            structlog.contextvars.unbind_contextvars("delivery_id", "channel")

    async def _suppression(self, delivery: dict[str, Any]) -> str | None:
        contacts = await self.repo.contacts_of(delivery["org_id"], [delivery["person_id"]])
        return suppression(contacts.get(delivery["person_id"]), had_card=delivery.get("contact_on_file", True))

    async def _retry_or_fail(
        self, delivery: dict[str, Any], attempts: int, error: str, retry_after_s: float | None = None
    ) -> None:
        if attempts >= self.settings.delivery_attempts:
            await self._finish(delivery, FAILED, attempts, f"gave up after {attempts} attempts: {error}")
            return
        delay = retry_delay(
            attempts,
            backoff_s=self.settings.delivery_backoff_s,
            max_s=self.settings.delivery_backoff_max_s,
            retry_after_s=retry_after_s,
        )
        await self.repo.retry_later(delivery["_id"], attempts, datetime.now(UTC) + timedelta(seconds=delay), error)
        log.info("delivery.retry_scheduled", attempts=attempts, delay_s=round(delay, 3), error=error)

    async def _finish(self, delivery: dict[str, Any], status: str, attempts: int, error: str | None = None) -> None:
        """Record the outcome. Suppressed deliveries publish nothing: nothing was sent, and nothing went
        wrong that anyone should act on (notifications.failed is for addresses and hooks to fix)."""

        async def work(tx: Tx) -> None:
            if not await self.repo.finish(tx, delivery["_id"], status, attempts, error):
                return
            if status == SENT:
                tx.emit(_sent(delivery["org_id"], delivery.get("correlation_id"), delivery))
            elif status == FAILED:
                tx.emit(
                    NotificationFailed(
                        org_id=delivery["org_id"],
                        correlation_id=delivery.get("correlation_id"),
                        notification_id=delivery["_id"],
                        person_id=delivery["person_id"],
                        channel=delivery["channel"],
                        cause_event_id=delivery["cause_event_id"],
                        error=error or "failed",
                    )
                )

        await self.uow.run(None, work)
        log.info("delivery.finished", status=status, attempts=attempts, error=error)

    async def close(self) -> None:
        await self.webhooks.close()
