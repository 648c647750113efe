"""Notifier service layer: keep contacts, turn events into deliveries, and deliver each exactly once."""

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
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
    DeliveryStatus,
    Message,
    RetryPolicy,
    contact_from_profile,
    contact_from_rejection,
    delivery_id,
    recipients,
    render,
    suppression,
)
from services.notifier.domain.links import LinkClaims, LinkIssuer, LinkSigner, answer_event, answer_summary
from services.notifier.due import DueQueue, Reservation
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

SCAN_SHARE = 10
"""The delivery loop's scan of the database for due deliveries, whose cost grows with the backlog, runs
at most once per this many times its own last duration (and at least every delivery_poll_s apart), so it
never takes more than about a tenth of the loop's time however long the backlog grows."""

SCAN_EVERY_MAX = timedelta(seconds=5)
"""However slow the last scan was, the next runs within this (real time): a claim whose lease ran out is
taken over within it. One slow scan on a busy database (it waits behind other commands too) would
otherwise push the next out by SCAN_SHARE times that wait."""

SCAN_BATCH = 1000
"""How many due ids one scan hands to the in-memory queue at most."""

SLOTS_PER_EVENT = 2
"""Sending slots a handler's transaction reserves per event at most (a proposal is two emails)."""

T = TypeVar("T")


async def profiles_changed(
    events: list[ProfileChanged], uow: UnitOfWork, repo: NotifierRepository, settings: NotifierSettings,
    now: Now = wall_time, deliveries_waiting: DueQueue | None = None, max_per_transaction: int = 50,
) -> None:
    """Keep the contact cards (the last event per person wins), in one bulk write per transaction of
    at most `max_per_transaction` events; events that were waiting for these people are delivered now."""
    at = now()

    async def work(tx: Tx, fresh: list[ProfileChanged]) -> list[tuple[str, datetime]]:
        last = {(e.org_id, e.person_id): e for e in fresh}
        await repo.save_contacts(tx, [contact_from_profile(e) for e in last.values()])
        new = NewDeliveries()
        for parked in await repo.parked_for_people(tx, list(last)):
            if await _deliveries_for(tx, repo, settings, parked, at, new):
                await repo.unpark(tx, parked)
        await new.write(tx, repo)
        return new.due

    for start in range(0, len(events), max_per_transaction):
        due = await uow.run_batch(events[start:start + max_per_transaction], work)
        if due and deliveries_waiting is not None:  # parked events went out: send them at once
            deliveries_waiting.add(due)


async def notify(
    events: list[Event], uow: UnitOfWork, repo: NotifierRepository, settings: NotifierSettings,
    now: Now = wall_time, deliveries_waiting: DueQueue | None = None, max_per_transaction: int = 50,
) -> None:
    """Render each event (a batch of one topic, in offset order) for everyone it concerns and record one
    delivery per chosen channel, due now on the service clock, in transactions of at most
    `max_per_transaction` events; then hand the new deliveries' ids to the delivery job, which sends
    them at once."""
    at = now()

    reservation: Reservation | None = None

    async def work(tx: Tx, fresh: list[Event]) -> list[tuple[str, datetime]]:
        new = NewDeliveries(reservation)  # per attempt: a retried transaction starts again
        await new.prefetch(tx, repo, fresh)
        try:
            for event in tx.each(fresh):
                tx.cause = event  # the cause of what is emitted while it is current
                if isinstance(event, MatchWithdrawn) and event.erased_person_id:
                    await new.write(tx, repo)  # anonymising rewrites the messages kept, these included
                    await _forget_contact(tx, repo, event.org_id, event.erased_person_id)  # before it is named
                    new.forget_contacts()
                if isinstance(event, MatchAccepted):
                    await repo.remember_partnership(tx, event)
                if isinstance(event, ScheduleCreated | ScheduleUpdated):
                    await repo.remember_schedule(tx, event)
                await _deliveries_for(tx, repo, settings, event, at, new)
        finally:
            tx.cause = None
        await new.write(tx, repo)
        return new.due

    for start in range(0, len(events), max_per_transaction):
        chunk = events[start:start + max_per_transaction]
        reservation = _reservation_for(chunk, deliveries_waiting)
        due = await _committed(uow.run_batch(chunk, work), reservation)
        if due and deliveries_waiting is not None:  # committed: the delivery job sends them at once
            deliveries_waiting.add(due)


def _reservation_for(events: list[Event], deliveries_waiting: DueQueue | None) -> Reservation | None:
    """Sending slots for a transaction of these events. None when one of them erases a person: the
    transaction then rewrites the messages it recorded before (anonymising), and only the stored rows,
    read again by the delivery loop, hold the rewritten text; a copy handed over in memory would not."""
    if deliveries_waiting is None or any(isinstance(e, MatchWithdrawn) and e.erased_person_id for e in events):
        return None
    return deliveries_waiting.reserve(SLOTS_PER_EVENT * len(events))


async def _committed(transaction: Awaitable[T], reservation: Reservation | None) -> T:
    """Run the transaction; then hand what it claimed to the sender, or free the slots if it failed."""
    try:
        result = await transaction
    except BaseException:
        if reservation is not None:
            reservation.abandoned()
        raise
    if reservation is not None:
        reservation.committed()
    return result


async def profile_erased(
    event: ProfileErased, uow: UnitOfWork, repo: NotifierRepository, settings: NotifierSettings,
    now: Now = wall_time, deliveries_waiting: DueQueue | None = None,
) -> None:
    """The person was erased: their contact card becomes "a former participant", who is never
    reached; what was kept for them as a recipient is deleted; and their name, address and webhook
    URL are replaced in the messages their partners received. Events parked for the card go out now
    (to the partners only)."""
    at = now()

    async def work(tx: Tx) -> list[tuple[str, datetime]]:
        org_id, person_id = event.org_id, event.person_id
        anonymised = await _forget_contact(tx, repo, org_id, person_id)
        erased = await repo.erase_person(tx, org_id, person_id)
        new = NewDeliveries()
        for parked in await repo.parked_for_people(tx, [(org_id, person_id)]):
            if await _deliveries_for(tx, repo, settings, parked, at, new):
                await repo.unpark(tx, parked)
        await new.write(tx, repo)
        erased += await forget_person(tx, org_id, person_id)
        tx.emit(event.caused(ErasureConfirmed, person_id=person_id, service="notifier", erased=erased,
                             anonymised=anonymised + 1))
        return new.due

    due = await uow.run(event, work)
    if due and deliveries_waiting is not None:
        deliveries_waiting.add(due)


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


class NewDeliveries:
    """The deliveries (and inbox entries) one transaction records, written together: one insert for
    the deliveries and one for the inbox entries, instead of two or three writes per delivery.

    `prefetch` reads, for a whole batch of events, the recipients' contact cards (one query per
    organisation) and which of their deliveries exist already (one query), so that each event costs
    no round trip of its own; what was not prefetched is read when asked for. `forget_contacts`
    drops the cards read (a card was changed in the transaction)."""

    def __init__(self, reservation: Reservation | None = None) -> None:
        self.reservation = reservation
        if reservation is not None:
            reservation.restart()
        self.deliveries: list[Delivery] = []
        self.inbox: list[dict[str, Any]] = []
        self.ids: set[str] = set()
        self.recorded = 0
        self.due: list[tuple[str, datetime]] = []  # (id, due at) of the pending ones recorded: for the delivery job
        self.cards: dict[str, dict[str, Contact]] | None = None  # org_id -> person_id -> card, of those read
        self.read_for: set[tuple[str, str]] = set()
        self.checked: set[str] = set()  # delivery ids whose existence was read
        self.existing: set[str] = set()

    async def prefetch(self, tx: Tx, repo: NotifierRepository, events: list[Event]) -> None:
        people = {(e.org_id, p) for e in events for p in recipients(e)}
        cards = await repo.contacts_for(people, tx)
        self.cards, self.read_for = {}, people
        for (org_id, person_id), card in cards.items():
            self.cards.setdefault(org_id, {})[person_id] = card
        candidates = [delivery_id(e.event_id, p, channel) for e in events for p in recipients(e)
                      if (card := cards.get((e.org_id, p))) for channel in card.deliverable_channels()]
        await self.known(tx, repo, candidates)

    def forget_contacts(self) -> None:
        self.cards, self.read_for = None, set()

    async def contacts_of(self, tx: Tx, repo: NotifierRepository, org_id: str, people: list[str]) -> dict[str, Contact]:
        if self.cards is None or any((org_id, p) not in self.read_for for p in people):
            return await repo.contacts_of(org_id, people, tx)
        of_org = self.cards.get(org_id, {})
        return {p: of_org[p] for p in people if p in of_org}

    async def known(self, tx: Tx, repo: NotifierRepository, ids: list[str]) -> set[str]:
        """Which of these delivery ids exist, or are recorded in this transaction."""
        unread = [i for i in ids if i not in self.checked and i not in self.ids]
        if unread:
            self.existing |= await repo.existing_deliveries(tx, unread)
            self.checked.update(unread)
        return {i for i in ids if i in self.existing or i in self.ids}

    def add(self, delivery: Delivery, inbox_entry: dict[str, Any] | None = None, *,
            contact: Contact | None = None, now: datetime | None = None) -> None:
        """Record it with the others; with a slot of the reservation left, claimed for this process's
        sender (which then sends it on commit) instead of queued as due."""
        self.deliveries.append(delivery)
        self.ids.add(delivery.id)
        self.recorded += 1
        if (self.reservation is not None and contact is not None and now is not None
                and self.reservation.claim(delivery, contact, now)):
            return
        if delivery.status == DeliveryStatus.PENDING:
            self.due.append((delivery.id, delivery.next_attempt_at))
        if inbox_entry is not None:
            self.inbox.append(inbox_entry)

    async def write(self, tx: Tx, repo: NotifierRepository) -> None:
        await repo.add_deliveries(tx, self.deliveries)
        await repo.add_inbox_entries(tx, self.inbox)
        self.deliveries, self.inbox = [], []


async def _deliveries_for(
    tx: Tx, repo: NotifierRepository, settings: NotifierSettings, event: Event, now: datetime,
    new: NewDeliveries | None = None,
) -> bool:
    """Record the event's deliveries, or park it until every recipient's contact card has arrived
    (topics are not ordered with each other, so a proposal can overtake a profile). False if parked.
    With `new`, the deliveries are written when the caller writes `new`; without, before returning.
    A delivery that exists already (a redelivered event) is not recorded again."""
    if new is None:
        new = NewDeliveries()
        recorded = await _deliveries_for(tx, repo, settings, event, now, new)
        await new.write(tx, repo)
        return recorded
    people = recipients(event)
    contacts = await new.contacts_of(tx, repo, event.org_id, people)
    on_file = set(contacts)
    if isinstance(event, ProfileRejected):
        contacts[event.person_id] = contact_from_rejection(event, contacts.get(event.person_id))
    missing = [p for p in people if p not in contacts]
    if missing:
        await repo.park(tx, event, missing)
        log.info("notifier.waiting_for_contacts", missing=len(missing))
        return False
    background = await _background(tx, repo, settings, event)
    planned: list[tuple[Delivery, Contact, Message]] = []
    for person_id in people:
        contact = contacts[person_id]
        message = render(event, contact, contacts, background)
        if message is None:
            continue
        for channel in contact.deliverable_channels():
            delivery = Delivery.for_message(
                event, contact, message, channel, now=now, message_id_domain=settings.message_id_domain,
                contact_on_file=person_id in on_file,
            )
            planned.append((delivery, contact, message))
    if not planned:
        return True
    known = await new.known(tx, repo, [d.id for d, _, _ in planned])
    for delivery, contact, message in planned:
        if delivery.id in known:
            continue
        if delivery.channel != "inbox":
            new.add(delivery, contact=contact, now=now)
            continue
        events = delivery.deliver_in_app(now)  # recording the entry is the send
        new.add(delivery, _inbox_entry(event, contact, message, delivery))
        for e in events:
            tx.emit(e)
    return True


async def _background(tx: Tx, repo: NotifierRepository, settings: NotifierSettings, event: Event) -> Background:
    partnership = isinstance(event, MatchWithdrawn) and (
        event.partnership_ended or await repo.is_partnership(event.org_id, event.match_id, tx)
    )
    session = None
    if isinstance(event, SessionUpcoming):
        session = await repo.session(event.org_id, event.match_id, event.session_id, tx)
    return Background(organizer=settings.mail_from, partnership=partnership, session=session,
                      links=link_issuer(settings),
                      mentoring_url=f"{settings.console_url.rstrip('/')}/me" if settings.console_url else None)


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


def _inbox_entry(event: Event, contact: Contact, message: Message, delivery: Delivery) -> dict[str, Any]:
    return {
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
    }


def _now() -> datetime:
    return datetime.now(UTC)


def _forget(attempt: "asyncio.Future[None]") -> None:
    """Collect the outcome of a send given up on, so it is not reported as never retrieved."""
    if not attempt.cancelled():
        attempt.exception()


Outcome = tuple[Delivery, list[Event]]
"""A delivery in its new state, and the events that state change causes."""


class OutcomeWriter:
    """Group commit of delivery outcomes: every outcome handed in while a write is under way goes in the
    next write, at most `most` in one transaction (one bulk write, one outbox insert, the commit). Alone,
    an outcome is written as before; a group with a stale copy in it (its claim was taken over) is
    written again one outcome at a time, so only the stale one is refused."""

    def __init__(
        self, write_one: Callable[[Delivery, list[Event]], Awaitable[bool]],
        write_many: Callable[[list[Outcome]], Awaitable[bool]], most: int = 100,
    ) -> None:
        self.write_one = write_one
        self.write_many = write_many
        self.most = most
        self.waiting: list[tuple[Delivery, list[Event], asyncio.Future[bool]]] = []
        self.flusher: asyncio.Task[None] | None = None
        self.writes = 0  # transactions (or single saves) issued, for tests and benchmarks

    async def record(self, delivery: Delivery, events: list[Event]) -> bool:
        """Write the outcome with the others waiting; False if its copy was stale and nothing was written."""
        saved: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.waiting.append((delivery, events, saved))
        if self.flusher is None or self.flusher.done():
            context = contextvars.copy_context()  # without this delivery's log fields
            context.run(structlog.contextvars.unbind_contextvars, "delivery_id", "channel")
            self.flusher = asyncio.create_task(self._flush(), name="delivery-outcomes", context=context)
        return await saved

    async def _flush(self) -> None:
        while self.waiting:
            group, self.waiting = self.waiting[:self.most], self.waiting[self.most:]
            try:
                saved = await self._write([(d, e) for d, e, _ in group])
            except Exception as exc:
                for *_, future in group:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for (*_, future), ok in zip(group, saved, strict=True):
                    if not future.done():
                        future.set_result(ok)

    async def _write(self, group: list[Outcome]) -> list[bool]:
        if len(group) > 1:
            self.writes += 1
            if await self.write_many(group):
                return [True] * len(group)
            log.info("delivery.outcomes_one_by_one", outcomes=len(group))
        saved = []
        for delivery, events in group:
            self.writes += 1
            saved.append(await self.write_one(delivery, events))
        return saved

    async def close(self) -> None:
        if self.flusher is not None:
            self.flusher.cancel()
            await asyncio.gather(self.flusher, return_exceptions=True)


class _Stale(Exception):
    """A group of outcomes held a stale copy: the transaction is rolled back."""


class Deliverer:
    """Sends due email and webhook deliveries, up to `delivery_concurrency` at once, each send bounded
    by `delivery_send_timeout_s`, so one hanging server holds one slot and never the others.

    The due deliveries come from an in-memory queue of ids (`DueQueue`, bounded), fed by this process's
    own commits (the handlers' new deliveries, the retries this loop schedules, the rows it sets aside),
    and read by `_id`, so a refill costs the same however long the backlog. A scan of the database
    (`due_ids`, whose cost grows with the backlog) feeds the queue too: at the first refill, once per
    delivery_poll_s (or SCAN_SHARE times its own duration, if longer, up to SCAN_EVERY_MAX), and whenever the queue has
    nothing due while the database may hold more (the last scan was cut at its limit, or the queue
    overflowed). It finds what no commit of this process announced: other replicas' and earlier
    runs' rows, retries they scheduled, and claims whose sender is gone.

    Deliveries are claimed in batches: one point read of the ids taken, one transaction that claims
    them all, each with a version-guarded update, so with several replicas each is sent by one, and
    each claim carries a lease; then one query for their recipients' contact cards. A sender that dies mid-send
    leaves the claim behind: the same replica, restarted, takes it back at once; any replica once the
    lease expires. The delivery is then sent again with the same Message-ID / Idempotency-Key, so the
    receiver can recognise the repeat: nothing is dropped silently. A batch that meets a row still held
    by a dead process's transaction is claimed again one delivery at a time, and that one is set aside
    for HELD_RETRY while the others go on. Outcomes are recorded by group commit (`OutcomeWriter`).

    Slots are refilled when deliveries are recorded (the queue's `wakeup`, set by the handlers on
    commit, in the same process), when a quarter of the slots is free again and more was due than the
    last claim took, when the queue's next retry falls due, or every delivery_poll_s."""

    def __init__(
        self, uow: UnitOfWork, repo: NotifierRepository, settings: NotifierSettings, owner: str,
        *, clock: Callable[[], datetime] = _now, speed: float = 1.0, due: DueQueue | None = None,
    ) -> None:
        """`clock` is the service clock; `speed` its virtual seconds per real second. Due times are on
        that clock, but leases, back-off and the hold are real durations (a lease must outlast a real
        send, and an SMTP outage lasts real seconds), so they are stretched by `speed`. `due`: the
        queue the handlers feed (a queue of its own if not given)."""
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
        self.outcomes = OutcomeWriter(self._write_one, self._write_many)
        self.in_flight: dict[str, asyncio.Task[None]] = {}  # claimed and not yet recorded
        self.sending = 0  # of those, the ones whose send has not ended: the slots in use
        self.reserved = 0  # slots held by handlers' transactions (see due.Reservation)
        self.refill_at = max(1, settings.delivery_concurrency // 4)
        self.more_due = False  # the last claim took all it could: more may be waiting
        self.room = asyncio.Event()
        self.due = due if due is not None else DueQueue(settings.delivery_queue_size)
        self.scanned_at: datetime | None = None
        self.look_every = timedelta(seconds=settings.delivery_poll_s * speed)
        self.scan_every = self.look_every
        self.scan_more = False  # the last scan was cut at its limit: the database may hold more due rows
        self.scans = 0
        self.held: dict[str, datetime] = {}
        self.abandoned: set[asyncio.Future[None]] = set()

    async def run(self, wakeup: asyncio.Event | None = None) -> None:
        """Deliver until cancelled: refill free slots when new deliveries are recorded (`wakeup`, by
        default the queue's), when enough slots are free again and more was due, when the queue's next
        delivery falls due, or when delivery_poll_s passes."""
        wakeup = wakeup if wakeup is not None else self.due.wakeup
        self.due.sender = self  # running: the handlers may hand it what they claim
        try:
            await self._loop(wakeup)
        finally:
            if self.due.sender is self:
                self.due.sender = None

    async def _loop(self, wakeup: asyncio.Event) -> None:
        while True:
            wakeup.clear()
            self.room.clear()
            failed = False
            try:
                await self.fill()
            except Exception:
                log.exception("delivery.loop_failed")
                failed = True
                self.scanned_at = None  # scan at the next refill: it finds the ids this one took again
            woken = asyncio.ensure_future(wakeup.wait())
            roomy = asyncio.ensure_future(self.room.wait())
            try:
                await asyncio.wait([woken, roomy],
                                   timeout=self.settings.delivery_poll_s if failed else self._until_next(),
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                woken.cancel()
                roomy.cancel()

    def _until_next(self) -> float:
        """Real seconds until the next poll, or sooner if the queue's next delivery falls due then."""
        wait_s = self.settings.delivery_poll_s
        earliest = self.due.earliest()
        if earliest is not None and self.sending < self.settings.delivery_concurrency:
            wait_s = min(wait_s, max((earliest - self.clock()).total_seconds() / self.speed, 0.0))
        return wait_s

    def free_slots(self) -> int:
        return self.settings.delivery_concurrency - self.sending - self.reserved

    def reserve(self, slots: int) -> None:
        self.reserved += slots

    def start_claimed(self, reserved: int, claimed: list[Delivery],
                      contacts: Mapping[tuple[str, str], Contact]) -> None:
        """A handler's transaction committed these deliveries claimed for this sender: send them now."""
        self.reserved -= reserved
        for delivery in claimed:
            self._start(delivery, contacts)
        if len(claimed) < reserved and self.more_due:
            self.room.set()

    async def fill(self) -> int:
        """Claim due deliveries for the free slots and start sending them; how many started."""
        free = self.free_slots()
        if free <= 0:
            self.more_due = True  # not looked: look once slots free up
            return 0
        now = self.clock()
        self.held = {did: until for did, until in self.held.items() if until > now}
        skip = self.held.keys() | self.in_flight.keys()
        if self._scan_due(now):
            await self._scan(now, free, skip)
        ids = self.due.take(now, free, skip)
        rows = {d.id: d for d in await self.repo.deliveries_by_id(ids)} if ids else {}
        self.more_due = self.due.has_due(now) or self.scan_more or self.due.overflowed
        claimable = []
        for delivery in (rows[i] for i in ids if i in rows):  # a missing one was erased
            if delivery.claimable_by(self.claimant, now):
                delivery.claim(self.claimant, now, self.lease_s)
                claimable.append(delivery)
            elif delivery.status == DeliveryStatus.PENDING:  # due later: a retry scheduled elsewhere
                self.due.add([(delivery.id, delivery.next_attempt_at)])
            # else sent, finished or claimed by a live sender meanwhile: the scan finds it if that sender dies
        won = await self._claim(claimable, now)
        contacts: dict[tuple[str, str], Contact] | None = None
        if won:
            try:
                contacts = await self.repo.contacts_for({(d.org_id, d.person_id) for d in won})
            except Exception as exc:  # each send reads its recipient's card on its own
                log.warning("delivery.contacts_unread", deliveries=len(won), error_type=type(exc).__name__)
        for delivery in won:
            self._start(delivery, contacts)
        return len(won)

    def _scan_due(self, now: datetime) -> bool:
        if self.scanned_at is None or now - self.scanned_at >= self.scan_every:
            return True
        return (self.scan_more or self.due.overflowed) and not self.due.has_due(now)

    async def _scan(self, now: datetime, free: int, skip: Collection[str]) -> None:
        """Hand the queue the due deliveries the database holds, oldest first, SCAN_BATCH at most."""
        limit = max(min(self.due.capacity - len(self.due), SCAN_BATCH), free)
        started = time.perf_counter()
        found = await self.repo.due_ids(now, self.claimant, limit=limit, skip=skip)
        took_s = time.perf_counter() - started
        self.scans += 1
        self.scanned_at = now
        self.scan_every = max(self.look_every, min(timedelta(seconds=SCAN_SHARE * took_s), SCAN_EVERY_MAX) * self.speed)
        self.scan_more = len(found) >= limit
        if not self.scan_more:  # the queue now holds every due row: what overflowed is in it
            self.due.overflowed = False
        self.due.add(found)

    async def _claim(self, claimable: list[Delivery], now: datetime) -> list[Delivery]:
        """Claim them in one transaction; if a row is held by another open transaction, one by one."""
        if not claimable:
            return []
        outcomes: list[bool | BaseException] | None
        try:
            claimed = await self.repo.claim_many(claimable)
            outcomes = None if claimed is None else list(claimed)
        except Exception as exc:
            outcomes = [exc] * len(claimable)
        if outcomes is None:  # a row is held: find which, and let the others go
            outcomes = await asyncio.gather(*(self.repo.claim(d) for d in claimable), return_exceptions=True)
        won = []
        for delivery, outcome in zip(claimable, outcomes, strict=True):
            if outcome is True:
                won.append(delivery)
                continue
            if isinstance(outcome, BaseException):
                log.error("delivery.claim_error", delivery_id=delivery.id, error_type=type(outcome).__name__)
            else:
                log.info("delivery.claim_held", delivery_id=delivery.id)
            self.held[delivery.id] = now + self.hold
            self.due.add([(delivery.id, now + self.hold)])
        return won

    def _start(self, delivery: Delivery, contacts: Mapping[tuple[str, str], Contact] | None = None) -> None:
        self.sending += 1
        task = asyncio.create_task(self._deliver_in_background(delivery, contacts), name=f"delivery-{delivery.id}")
        self.in_flight[delivery.id] = task
        task.add_done_callback(lambda _: self.in_flight.pop(delivery.id, None))

    def _send_ended(self) -> None:
        self.sending -= 1
        free = self.free_slots()
        if self.more_due and (free >= self.refill_at or self.sending == 0):
            self.room.set()

    async def _deliver_in_background(
        self, delivery: Delivery, contacts: Mapping[tuple[str, str], Contact] | None
    ) -> None:
        structlog.contextvars.bind_contextvars(delivery_id=delivery.id, channel=delivery.channel)
        try:
            try:
                events = await self.attempt(delivery, contacts)
            finally:
                self._send_ended()
            await self._record(delivery, events)
        except Exception as exc:  # the claim stays until its lease expires; then it is sent again
            log.error("delivery.bookkeeping_failed", error_type=type(exc).__name__)

    async def deliver(
        self, delivery: Delivery, contacts: Mapping[tuple[str, str], Contact] | None = None
    ) -> None:
        """Send one claimed delivery and record the outcome (see `attempt`)."""
        structlog.contextvars.bind_contextvars(delivery_id=delivery.id, channel=delivery.channel)
        try:
            await self._record(delivery, await self.attempt(delivery, contacts))
        finally:
            structlog.contextvars.unbind_contextvars("delivery_id", "channel")

    async def attempt(
        self, delivery: Delivery, contacts: Mapping[tuple[str, str], Contact] | None = None
    ) -> list[Event]:
        """Send one claimed delivery, unless its recipient has withdrawn since it was recorded (judged
        by `contacts`, read for the batch just after the claim, or read now if not given); the events
        of its new state. An unexpected error counts as a transient failure, so the delivery is retried
        and, in the end, reported with notifications.failed instead of staying claimed forever."""
        try:
            suppressed = await self._suppression(delivery, contacts)
            if not suppressed:
                await self._send(delivery)
        except PermanentFailure as exc:
            return delivery.fail(str(exc), self.clock())
        except TransientFailure as exc:
            retry_after = None if exc.retry_after_s is None else exc.retry_after_s * self.speed
            return delivery.mark_transient_failure(str(exc), self.clock(), self.policy, retry_after)
        except Exception as exc:
            log.error("delivery.unexpected_error", attempts=delivery.attempts + 1, error_type=type(exc).__name__)
            return delivery.mark_transient_failure(f"unexpected {type(exc).__name__}", self.clock(), self.policy)
        return delivery.suppress(suppressed, self.clock()) if suppressed else delivery.mark_sent(self.clock())

    async def _send(self, delivery: Delivery) -> None:
        """Send, or give up after delivery_send_timeout_s. A cancelled client may still wait to say
        goodbye (a server that stopped answering never acknowledges a QUIT): the slot does not wait
        for that; the client finishes on its own, within its own timeout."""
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

    async def _suppression(
        self, delivery: Delivery, contacts: Mapping[tuple[str, str], Contact] | None = None
    ) -> str | None:
        if contacts is None:
            contacts = {(delivery.org_id, p): c for p, c in
                        (await self.repo.contacts_of(delivery.org_id, [delivery.person_id])).items()}
        contact = contacts.get((delivery.org_id, delivery.person_id))
        return suppression(contact, had_card=delivery.contact_on_file)

    async def _record(self, delivery: Delivery, events: list[Event]) -> None:
        """Save the outcome with the events it caused, with the other outcomes ready at the same time.
        A stale claim (its lease expired and another sender took over) saves nothing: that sender
        records the outcome."""
        saved = await self.outcomes.record(delivery, events)
        if not saved:
            log.warning("delivery.claim_lost", status=delivery.status)
        elif delivery.finished:
            log.info("delivery.finished", status=delivery.status, attempts=delivery.attempts, error=delivery.last_error)
        else:
            self.due.add([(delivery.id, delivery.next_attempt_at)])
            delay_s = (delivery.next_attempt_at - self.clock()).total_seconds()
            log.info("delivery.retry_scheduled", attempts=delivery.attempts, delay_s=round(delay_s, 3),
                     error=delivery.last_error)

    async def _write_one(self, delivery: Delivery, events: list[Event]) -> bool:
        """One outcome, in a transaction with its events (a plain guarded save if it has none)."""

        async def work(tx: Tx) -> bool:
            if not await self.repo.save(delivery, tx):
                return False
            for event in events:
                tx.emit(event)
            return True

        return await self.uow.run(None, work) if events else await self.repo.save(delivery)

    async def _write_many(self, group: list[Outcome]) -> bool:
        """Many outcomes and their events in one transaction; False (nothing written) if any copy was stale."""

        async def work(tx: Tx) -> None:
            if await self.repo.save_many([d for d, _ in group], tx) != len(group):
                raise _Stale
            for _, events in group:
                for event in events:
                    tx.emit(event)

        try:
            await self.uow.run(None, work)
        except _Stale:
            return False
        return True

    async def close(self) -> None:
        """Stop sending: interrupted sends keep their claims, which this replica takes back when it
        restarts (or another once the lease expires)."""
        tasks = [*self.in_flight.values(), *self.abandoned]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.outcomes.close()
        await self.mailer.close()
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
