"""The deliveries this process knows to be due, so that a refill of the delivery loop reads them by id
instead of querying for every due row (SecantusDB materialises and sorts every row a range matches
before a limit applies: about 40 ms per 1,000 waiting)."""

import asyncio
import heapq
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Protocol

from services.notifier.domain import Claimant, Contact, Delivery, DeliveryStatus


class Sender(Protocol):
    """The running delivery loop of this process, as the handlers see it (`Deliverer`)."""

    claimant: Claimant
    lease_s: float

    def free_slots(self) -> int: ...

    def reserve(self, slots: int) -> None: ...

    def start_claimed(self, reserved: int, claimed: list[Delivery],
                      contacts: Mapping[tuple[str, str], Contact]) -> None: ...


class Reservation:
    """Sending slots a handler's transaction holds: each email or webhook delivery it records while a
    slot is left is recorded already claimed by this process's sender, with a lease, and handed to it
    when the transaction commits. It is sent at once, without the loop reading and claiming it again
    (a read, a transaction and a contact lookup fewer). If the process dies first, the claim behaves
    as any claim left behind: this replica takes it back at restart, another once the lease expires."""

    def __init__(self, sender: Sender, slots: int) -> None:
        self.sender = sender
        self.slots = slots
        self.claimed: list[Delivery] = []
        self.contacts: dict[tuple[str, str], Contact] = {}
        self.open = True

    def restart(self) -> None:
        """A transaction attempt begins: what an aborted attempt claimed was never written."""
        self.claimed, self.contacts = [], {}

    def claim(self, delivery: Delivery, contact: Contact, now: datetime) -> bool:
        if (not self.open or len(self.claimed) >= self.slots or delivery.channel == "inbox"
                or delivery.status != DeliveryStatus.PENDING or delivery.next_attempt_at > now):
            return False
        delivery.claim(self.sender.claimant, now, self.sender.lease_s)
        self.claimed.append(delivery)
        self.contacts[(delivery.org_id, delivery.person_id)] = contact
        return True

    def committed(self) -> None:
        """Hand the claimed deliveries to the sender and free the slots left over."""
        if self.open:
            self.open = False
            self.sender.start_claimed(self.slots, self.claimed, self.contacts)

    def abandoned(self) -> None:
        """The transaction failed: nothing it claimed exists; free the slots."""
        if self.open:
            self.open = False
            self.sender.start_claimed(self.slots, [], {})


class DueQueue:
    """Delivery ids with the time each falls due, earliest first, at most `capacity` of them.

    A hint, never the truth: it is fed by this process's own commits (deliveries recorded, retries
    scheduled, rows set aside) and by the delivery loop's periodic scan of the database, and each id
    taken is read again by `_id` and claimed under its version guard, so an id that another replica
    sent meanwhile, or that is listed twice, costs one point lookup and nothing else. What does not
    fit is dropped and `overflowed` is set: the scan then finds it. `wakeup` is set whenever
    something is added, or by `set` (a commit that may have made deliveries due)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self.heap: list[tuple[datetime, str]] = []
        self.due_at: dict[str, datetime] = {}  # the live entries; heap entries not here (or at another time) are stale
        self.overflowed = False
        self.wakeup = asyncio.Event()
        self.sender: Sender | None = None  # the running delivery loop, which takes claimed deliveries on commit

    def reserve(self, most: int) -> Reservation | None:
        """Up to `most` of the running sender's free slots for a transaction, or None (no sender, or no
        slot free: its deliveries are queued as usual)."""
        if self.sender is None or most <= 0:
            return None
        slots = min(most, self.sender.free_slots())
        if slots <= 0:
            return None
        self.sender.reserve(slots)
        return Reservation(self.sender, slots)

    def __len__(self) -> int:
        return len(self.due_at)

    def __contains__(self, delivery_id: object) -> bool:
        return delivery_id in self.due_at

    def set(self) -> None:
        self.wakeup.set()

    def add(self, entries: Iterable[tuple[str, datetime]]) -> None:
        """Know these (delivery id, due time); an id known already keeps the earlier time."""
        added = False
        for delivery_id, at in entries:
            known = self.due_at.get(delivery_id)
            if known is not None and known <= at:
                continue
            if known is None and len(self.due_at) >= self.capacity:
                self.overflowed = True
                continue
            self.due_at[delivery_id] = at
            heapq.heappush(self.heap, (at, delivery_id))
            added = True
        if added:
            self.wakeup.set()
        if len(self.heap) > 2 * max(len(self.due_at), 64):  # many stale entries: rebuild
            self.heap = [(at, i) for i, at in self.due_at.items()]
            heapq.heapify(self.heap)

    def discard(self, delivery_ids: Iterable[str]) -> None:
        for delivery_id in delivery_ids:
            self.due_at.pop(delivery_id, None)

    def earliest(self) -> datetime | None:
        self._drop_stale()
        return self.heap[0][0] if self.heap else None

    def has_due(self, now: datetime) -> bool:
        earliest = self.earliest()
        return earliest is not None and earliest <= now

    def take(self, now: datetime, limit: int, skip: Collection[str] = ()) -> list[str]:
        """Remove and return up to `limit` ids due at `now`, earliest first; those in `skip` (being
        sent) are dropped: they are added again if their outcome schedules a retry."""
        taken: list[str] = []
        while self.heap and len(taken) < limit:
            at, delivery_id = self.heap[0]
            if self.due_at.get(delivery_id) != at:
                heapq.heappop(self.heap)
                continue
            if at > now:
                break
            heapq.heappop(self.heap)
            del self.due_at[delivery_id]
            if delivery_id not in skip:
                taken.append(delivery_id)
        return taken

    def _drop_stale(self) -> None:
        while self.heap and self.due_at.get(self.heap[0][1]) != self.heap[0][0]:
            heapq.heappop(self.heap)
