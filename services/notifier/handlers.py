"""Notifier service layer: keep contacts, turn events into deliveries, and deliver each exactly once."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import structlog
from pymongo.errors import DuplicateKeyError

from services.notifier.adapters.repository import NotifierRepository
from services.notifier.adapters.senders import Mailer, PermanentFailure, TransientFailure, WebhookSender
from services.notifier.domain import (
    Background,
    Claimant,
    Contact,
    Delivery,
    Message,
    RetryPolicy,
    contact_from_profile,
    contact_from_rejection,
    recipients,
    render,
    suppression,
)
from services.notifier.domain.links import LinkClaims, LinkIssuer, LinkSigner, answer_event, answer_summary
from services.notifier.settings import NotifierSettings
from shared.clock import Now, wall_time
from shared.contract import (
    FORMER_PARTICIPANT,
    ErasureConfirmed,
    Event,
    MatchAccepted,
    MatchWithdrawn,
    ProfileChanged,
    ProfileErased,
    ProfileRejected,
    ScheduleCreated,
    ScheduleUpdated,
    SessionUpcoming,
)
from shared.store import AlreadyProcessed, Tx, UnitOfWork, forget_person

log = structlog.get_logger()

HELD_RETRY = timedelta(seconds=10)
"""A delivery that could not be claimed (another sender won it, or a dead process's open transaction
still holds its row) is not tried again for this long, so it cannot crowd out the others."""


async def profiles_changed(
    events: list[ProfileChanged], uow: UnitOfWork, repo: NotifierRepository, settings: NotifierSettings,
    now: Now = wall_time, deliveries_waiting: asyncio.Event | None = None, max_per_transaction: int = 50,
) -> None:
    """Keep the contact cards (the last event per person wins), in one bulk write per transaction of
    at most `max_per_transaction` events; events that were waiting for these people are delivered now."""
    at = now()

    async def work(tx: Tx, fresh: list[ProfileChanged]) -> None:
        last = {(e.org_id, e.person_id): e for e in fresh}
        await repo.save_contacts(tx, [contact_from_profile(e) for e in last.values()])
        for parked in await repo.parked_for_people(tx, list(last)):
            if await _deliveries_for(tx, repo, settings, parked, at):
                await repo.unpark(tx, parked)

    for start in range(0, len(events), max_per_transaction):
        await uow.run_batch(events[start:start + max_per_transaction], work)
    if deliveries_waiting is not None:
        deliveries_waiting.set()


async def notify(
    events: list[Event], uow: UnitOfWork, repo: NotifierRepository, settings: NotifierSettings,
    now: Now = wall_time, deliveries_waiting: asyncio.Event | None = None, max_per_transaction: int = 50,
) -> None:
    """Render each event (a batch of one topic, in offset order) for everyone it concerns and record one
    delivery per chosen channel, due now on the service clock, in transactions of at most
    `max_per_transaction` events; then wake the delivery job."""
    at = now()

    async def work(tx: Tx, fresh: list[Event]) -> None:
        try:
            for event in tx.each(fresh):
                tx.cause = event  # the cause of what is emitted while it is current
                if isinstance(event, MatchWithdrawn) and event.erased_person_id:
                    await _forget_contact(tx, repo, event.org_id, event.erased_person_id)  # before it is named
                if isinstance(event, MatchAccepted):
                    await repo.remember_partnership(tx, event)
                if isinstance(event, ScheduleCreated | ScheduleUpdated):
                    await repo.remember_schedule(tx, event)
                await _deliveries_for(tx, repo, settings, event, at)
        finally:
            tx.cause = None

    for start in range(0, len(events), max_per_transaction):
        await uow.run_batch(events[start:start + max_per_transaction], work)
    if deliveries_waiting is not None:
        deliveries_waiting.set()


async def profile_erased(
    event: ProfileErased, uow: UnitOfWork, repo: NotifierRepository, settings: NotifierSettings,
    now: Now = wall_time, deliveries_waiting: asyncio.Event | None = None,
) -> None:
    """The person was erased: their contact card becomes "a former participant", who is never
    reached; what was kept for them as a recipient is deleted; and their name, address and webhook
    URL are replaced in the messages their partners received. Events parked for the card go out now
    (to the partners only)."""
    at = now()

    async def work(tx: Tx) -> None:
        org_id, person_id = event.org_id, event.person_id
        anonymised = await _forget_contact(tx, repo, org_id, person_id)
        erased = await repo.erase_person(tx, org_id, person_id)
        for parked in await repo.parked_for_people(tx, [(org_id, person_id)]):
            if await _deliveries_for(tx, repo, settings, parked, at):
                await repo.unpark(tx, parked)
        erased += await forget_person(tx, org_id, person_id)
        tx.emit(event.caused(ErasureConfirmed, person_id=person_id, service="notifier", erased=erased,
                             anonymised=anonymised + 1))

    await uow.run(event, work)
    if deliveries_waiting is not None:
        deliveries_waiting.set()


async def _forget_contact(tx: Tx, repo: NotifierRepository, org_id: str, person_id: str) -> int:
    """The contact card becomes "a former participant", who is never reached, and their name, email and
    webhook URL are replaced in the messages kept for others. Once: a second call finds the card
    forgotten. How many messages changed."""
    card = (await repo.contacts_of(org_id, [person_id], tx)).get(person_id)
    if card is not None and card.display_name == FORMER_PARTICIPANT and not card.active:
        return 0
    await repo.save_contacts(tx, [Contact(person_id, org_id, display_name=FORMER_PARTICIPANT, active=False)])
    needles = [card.display_name.strip(), card.email, card.webhook_url or ""] if card else []
    return await repo.anonymise(tx, org_id, needles, FORMER_PARTICIPANT)


async def _deliveries_for(
    tx: Tx, repo: NotifierRepository, settings: NotifierSettings, event: Event, now: datetime
) -> bool:
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
            await _record_delivery(
                tx, repo, settings, event, contact, message, channel, now=now, on_file=person_id in on_file
            )
    return True


async def _background(tx: Tx, repo: NotifierRepository, settings: NotifierSettings, event: Event) -> Background:
    partnership = isinstance(event, MatchWithdrawn) and (
        event.partnership_ended or await repo.is_partnership(event.org_id, event.match_id, tx)
    )
    session = None
    if isinstance(event, SessionUpcoming):
        session = await repo.session(event.org_id, event.match_id, event.session_id, tx)
    return Background(organizer=settings.mail_from, partnership=partnership, session=session,
                      links=link_issuer(settings))


def link_signer(settings: NotifierSettings) -> LinkSigner | None:
    """None without a secret: the service refuses to start so (see app.setup), but tests may render without links."""
    return LinkSigner(settings.link_secret.get_secret_value()) if settings.link_secret else None


def link_issuer(settings: NotifierSettings) -> LinkIssuer | None:
    signer = link_signer(settings)
    lifetime = timedelta(days=settings.link_lifetime_days)
    return LinkIssuer(signer, settings.links_base_url, lifetime) if signer else None


@dataclass(frozen=True)
class LinkAnswer:
    published: bool  # False: the link had been answered before, and nothing was published now
    summary: str  # what was answered, in words


async def answered(claims: LinkClaims, repo: NotifierRepository) -> LinkAnswer | None:
    """How the link was answered before, or None if it has not been."""
    earlier = await repo.used_link(claims.slot)
    return LinkAnswer(False, earlier["summary"]) if earlier else None


async def answer_link(
    claims: LinkClaims, form: dict[str, str], uow: UnitOfWork, repo: NotifierRepository, now: datetime | None = None
) -> LinkAnswer:
    """Publish the link's event once, however often it is confirmed: the used-link record and the
    outbox entry commit together, and a second record for the slot cannot be inserted. Raises
    InvalidAnswer (nothing changed) if the form does not answer the question."""
    if earlier := await answered(claims, repo):
        return earlier
    event = answer_event(claims, form, now or _now())
    summary = answer_summary(event)

    async def work(tx: Tx) -> LinkAnswer:
        if known := await repo.used_link(claims.slot, tx):
            return LinkAnswer(False, known["summary"])
        await repo.use_link(tx, claims, event, summary)
        tx.emit(event)
        return LinkAnswer(True, summary)

    try:
        return await uow.run(None, work)
    except (DuplicateKeyError, AlreadyProcessed):  # a concurrent confirmation of the same slot won
        if earlier := await answered(claims, repo):
            return earlier
        raise


async def _record_delivery(
    tx: Tx,
    repo: NotifierRepository,
    settings: NotifierSettings,
    event: Event,
    contact: Contact,
    message: Message,
    channel: str,
    *,
    now: datetime,
    on_file: bool,
) -> None:
    delivery = Delivery.for_message(
        event, contact, message, channel, now=now, message_id_domain=settings.message_id_domain, contact_on_file=on_file
    )
    if channel != "inbox":
        await repo.add_delivery(tx, delivery)
        return
    events = delivery.deliver_in_app(now)
    if not await repo.add_delivery(tx, delivery):
        return
    await repo.add_inbox_entry(
        tx,
        {
            "entry_id": delivery.id,
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
    for e in events:
        tx.emit(e)


def _now() -> datetime:
    return datetime.now(UTC)


def _forget(attempt: "asyncio.Future[None]") -> None:
    """Collect the outcome of a send given up on, so it is not reported as never retrieved."""
    if not attempt.cancelled():
        attempt.exception()


class Deliverer:
    """Sends due email and webhook deliveries, up to `delivery_concurrency` at once, each send bounded
    by `delivery_send_timeout_s`, so one hanging server holds one slot and never the others.

    A delivery is claimed with a version-guarded update, so with several replicas each is sent by one,
    and the claim carries a lease. A sender that dies mid-send leaves the claim behind: the same
    replica, restarted, takes it back at once; any replica once the lease expires. The delivery is
    then sent again with the same Message-ID / Idempotency-Key, so the receiver can recognise the
    repeat: nothing is dropped silently. A claim that cannot be made now (its row is still held by a
    dead process's transaction) is set aside for HELD_RETRY while the others go on."""

    def __init__(
        self, uow: UnitOfWork, repo: NotifierRepository, settings: NotifierSettings, owner: str,
        *, clock: Callable[[], datetime] = _now, speed: float = 1.0,
    ) -> None:
        """`clock` is the service clock; `speed` its virtual seconds per real second. Due times are on
        that clock, but leases, back-off and the hold are real durations (a lease must outlast a real
        send, and an SMTP outage lasts real seconds), so they are stretched by `speed`."""
        self.uow = uow
        self.repo = repo
        self.settings = settings
        self.claimant = Claimant(instance=owner, run=uuid4().hex)
        self.policy = RetryPolicy(
            attempts=settings.delivery_attempts, backoff_s=settings.delivery_backoff_s * speed,
            max_s=settings.delivery_backoff_max_s * speed,
        )
        self.clock = clock
        self.lease_s = settings.delivery_lease_s * speed
        self.hold = HELD_RETRY * speed
        self.speed = speed
        self.mailer = Mailer(settings)
        self.webhooks = WebhookSender(settings)
        self.in_flight: dict[str, asyncio.Task[None]] = {}
        self.held: dict[str, datetime] = {}
        self.abandoned: set[asyncio.Future[None]] = set()

    async def run(self, wakeup: asyncio.Event) -> None:
        """Deliver until cancelled: refill free slots whenever a send ends, new deliveries are
        recorded (`wakeup`), or delivery_poll_s passes (retries falling due, expired leases)."""
        while True:
            wakeup.clear()
            try:
                await self.fill()
            except Exception:
                log.exception("delivery.loop_failed")
            woken = asyncio.ensure_future(wakeup.wait())
            try:
                await asyncio.wait(
                    [woken, *self.in_flight.values()], timeout=self.settings.delivery_poll_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                woken.cancel()

    async def fill(self) -> int:
        """Claim due deliveries for the free slots and start sending them; how many started."""
        free = self.settings.delivery_concurrency - len(self.in_flight)
        if free <= 0:
            return 0
        now = self.clock()
        self.held = {did: until for did, until in self.held.items() if until > now}
        skip = self.held.keys() | self.in_flight.keys()
        due = await self.repo.due_deliveries(now, self.claimant, limit=free, skip=skip)
        claimable = []
        for delivery in due:
            if delivery.claimable_by(self.claimant, now):
                delivery.claim(self.claimant, now, self.lease_s)
                claimable.append(delivery)
            else:
                self.held[delivery.id] = now + self.hold
        won = await asyncio.gather(*(self.repo.claim(d) for d in claimable), return_exceptions=True)
        started = 0
        for delivery, outcome in zip(claimable, won, strict=True):
            if outcome is True:
                self._start(delivery)
                started += 1
                continue
            if isinstance(outcome, BaseException):
                log.error("delivery.claim_error", delivery_id=delivery.id, error_type=type(outcome).__name__)
            else:
                log.info("delivery.claim_held", delivery_id=delivery.id)
            self.held[delivery.id] = now + self.hold
        return started

    def _start(self, delivery: Delivery) -> None:
        task = asyncio.create_task(self._deliver_in_background(delivery), name=f"delivery-{delivery.id}")
        self.in_flight[delivery.id] = task
        task.add_done_callback(lambda _: self.in_flight.pop(delivery.id, None))

    async def _deliver_in_background(self, delivery: Delivery) -> None:
        try:
            await self.deliver(delivery)
        except Exception as exc:  # the claim stays until its lease expires; then it is sent again
            log.error("delivery.bookkeeping_failed", delivery_id=delivery.id, error_type=type(exc).__name__)

    async def deliver(self, delivery: Delivery) -> None:
        """Send one claimed delivery, unless its recipient has withdrawn since it was recorded. An
        unexpected error counts as a transient failure, so the delivery is retried and, in the end,
        reported with notifications.failed instead of staying claimed forever."""
        structlog.contextvars.bind_contextvars(delivery_id=delivery.id, channel=delivery.channel)
        try:
            try:
                suppressed = await self._suppression(delivery)
                if not suppressed:
                    await self._send(delivery)
            except PermanentFailure as exc:
                events = delivery.fail(str(exc), self.clock())
            except TransientFailure as exc:
                retry_after = None if exc.retry_after_s is None else exc.retry_after_s * self.speed
                events = delivery.mark_transient_failure(str(exc), self.clock(), self.policy, retry_after)
            except Exception as exc:
                log.error("delivery.unexpected_error", attempts=delivery.attempts + 1, error_type=type(exc).__name__)
                events = delivery.mark_transient_failure(f"unexpected {type(exc).__name__}", self.clock(), self.policy)
            else:
                events = delivery.suppress(suppressed, self.clock()) if suppressed else delivery.mark_sent(self.clock())
            await self._record(delivery, events)
        finally:
            structlog.contextvars.unbind_contextvars("delivery_id", "channel")

    async def _send(self, delivery: Delivery) -> None:
        """Send, or give up after delivery_send_timeout_s. A cancelled client may still wait to say
        goodbye (aiosmtplib sends QUIT, which a server that stopped answering never acknowledges):
        the slot does not wait for that; the client finishes on its own, within its own timeout."""
        sender = self.mailer if delivery.channel == "email" else self.webhooks
        timeout_s = self.settings.delivery_send_timeout_s
        attempt = asyncio.ensure_future(sender.send(delivery.send_request()))
        try:
            done, _ = await asyncio.wait({attempt}, timeout=timeout_s)
        except BaseException:
            attempt.cancel()
            raise
        if not done:
            attempt.cancel()
            self.abandoned.add(attempt)
            attempt.add_done_callback(_forget)
            attempt.add_done_callback(self.abandoned.discard)
            raise TransientFailure(f"no answer within {timeout_s:g} s")
        attempt.result()

    async def _suppression(self, delivery: Delivery) -> str | None:
        contacts = await self.repo.contacts_of(delivery.org_id, [delivery.person_id])
        return suppression(contacts.get(delivery.person_id), had_card=delivery.contact_on_file)

    async def _record(self, delivery: Delivery, events: list[Event]) -> None:
        """Save the outcome with the events it caused, in one transaction. A stale claim (its lease
        expired and another sender took over) saves nothing: that sender records the outcome."""

        async def work(tx: Tx) -> bool:
            if not await self.repo.save(delivery, tx):
                return False
            for event in events:
                tx.emit(event)
            return True

        saved = await self.uow.run(None, work) if events else await self.repo.save(delivery)
        if not saved:
            log.warning("delivery.claim_lost", status=delivery.status)
        elif delivery.finished:
            log.info("delivery.finished", status=delivery.status, attempts=delivery.attempts, error=delivery.last_error)
        else:
            delay_s = (delivery.next_attempt_at - self.clock()).total_seconds()
            log.info("delivery.retry_scheduled", attempts=delivery.attempts, delay_s=round(delay_s, 3),
                     error=delivery.last_error)

    async def close(self) -> None:
        """Stop sending: interrupted sends keep their claims, which this replica takes back when it
        restarts (or another once the lease expires)."""
        tasks = [*self.in_flight.values(), *self.abandoned]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.webhooks.close()


@dataclass(frozen=True)
class Backlog:
    pending: int  # deliveries waiting for their next attempt, due or not
    oldest_due_s: float  # how long the longest-waiting due delivery has waited for a sender; 0 if none

    def stuck(self, threshold_s: float) -> bool:
        return self.oldest_due_s > threshold_s


async def measure_backlog(repo: NotifierRepository, now: datetime | None = None, speed: float = 1.0) -> Backlog:
    """The backlog at `now` on the service clock; the wait is reported in real seconds."""
    now = now or _now()
    pending, waiting_since = await repo.backlog(now)
    waited = max((now - waiting_since).total_seconds(), 0.0) / speed if waiting_since else 0.0
    return Backlog(pending, waited)
