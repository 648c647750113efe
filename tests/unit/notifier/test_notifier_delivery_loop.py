"""The delivery loop's claims, leases and bounds, with an in-memory delivery table and scripted senders:
a claim nobody can take now does not hold back the others, sends run side by side up to the bound,
and a send that never answers is cut off and retried."""

import asyncio
import copy
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.notifier.adapters.senders import TransientFailure
from services.notifier.domain import Claimant, Contact, Delivery, DeliveryStatus
from services.notifier.handlers import HELD_RETRY, Deliverer, measure_backlog
from services.notifier.settings import NotifierSettings
from shared.contract import NotificationSent
from shared.store import Tx

NOW = datetime(2027, 1, 12, 9, 0, tzinfo=UTC)
ME = "replica-a"


class Table:
    """The deliveries collection, the contacts and the unit of work, in memory, with the repository's
    version guard: a save of a copy read before someone else's save is refused."""

    def __init__(self, *deliveries: Delivery) -> None:
        self.rows = {d.id: copy.deepcopy(d) for d in deliveries}
        self.held: set[str] = set()  # rows another open transaction holds: claims conflict
        self.claims: list[str] = []  # one-by-one claims
        self.batches: list[list[str]] = []  # batch claims, each one round trip
        self.contact_reads: list[set[tuple[str, str]]] = []
        self.transactions = 0
        self.scans = 0  # queries for due rows (the loop's periodic scan)
        self.reads: list[list[str]] = []  # reads of rows by id
        self.emitted: list[Any] = []

    async def due_ids(self, now: datetime, claimant: Claimant, *, limit: int,
                      skip: Collection[str] = ()) -> list[tuple[str, datetime]]:
        self.scans += 1
        due = [d for d in self.rows.values() if d.claimable_by(claimant, now) and d.id not in skip]
        return [(d.id, d.next_attempt_at) for d in sorted(due, key=lambda d: d.next_attempt_at)[:limit]]

    async def deliveries_by_id(self, ids: Collection[str]) -> list[Delivery]:
        self.reads.append(list(ids))
        return [copy.deepcopy(self.rows[i]) for i in ids if i in self.rows]

    async def claim(self, delivery: Delivery) -> bool:
        self.claims.append(delivery.id)
        if delivery.id in self.held or not await self.save(delivery):
            return False
        delivery.version += 1
        return True

    async def claim_many(self, deliveries: list[Delivery]) -> list[bool] | None:
        self.batches.append([d.id for d in deliveries])
        if any(d.id in self.held for d in deliveries):
            return None  # the write conflict aborts the whole transaction
        won = []
        for delivery in deliveries:
            won.append(await self.save(delivery))
            if won[-1]:
                delivery.version += 1
        return won

    async def save_many(self, deliveries: list[Delivery], tx: Tx) -> int:
        return sum([await self.save(d, tx) for d in deliveries])

    async def contacts_for(self, people: set[tuple[str, str]]) -> dict[tuple[str, str], Contact]:
        self.contact_reads.append(set(people))
        return {(o, p): Contact(p, o, email=f"{p}@acme.test") for o, p in people}

    async def save(self, delivery: Delivery, tx: Tx | None = None) -> bool:
        if self.rows[delivery.id].version != delivery.version:
            return False
        self.rows[delivery.id] = copy.deepcopy(delivery)
        self.rows[delivery.id].version += 1
        return True

    async def contacts_of(self, org_id: str, person_ids: list[str], tx: Tx | None = None) -> dict[str, Contact]:
        return {p: Contact(p, org_id, email=f"{p}@acme.test") for p in person_ids}

    async def run(self, cause: Any, work: Any) -> Any:
        """A transaction: what `work` wrote is rolled back if it raises."""
        self.transactions += 1
        tx = Tx(None, None, cause)  # type: ignore[arg-type]
        before = copy.deepcopy(self.rows)
        try:
            result = await work(tx)
        except BaseException:
            self.rows = before
            raise
        self.emitted += tx.emitted
        return result

    def status(self, did: str) -> DeliveryStatus:
        return self.rows[did].status


class Sender:
    """Answers at once, except for the recipients it is told to keep waiting until released."""

    def __init__(self, *hanging: str, goodbye_s: float = 0) -> None:
        self.hanging = set(hanging)
        self.goodbye_s = goodbye_s  # how long a cancelled send still waits (a QUIT nobody answers)
        self.release = asyncio.Event()
        self.in_flight = 0
        self.most_in_flight = 0
        self.sent: list[str] = []

    async def send(self, request: dict[str, Any]) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if request["to"] in self.hanging:
                try:
                    await self.release.wait()
                except asyncio.CancelledError:
                    await asyncio.sleep(self.goodbye_s)
                    raise
            await asyncio.sleep(0)
            self.sent.append(request["_id"])
        finally:
            self.in_flight -= 1

    async def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def due(did: str, *, minutes_ago: int = 1, **over: Any) -> Delivery:
    at = NOW - timedelta(minutes=minutes_ago)
    fields = {"id": did, "org_id": "acme", "person_id": did, "channel": "email", "kind": "match_proposed",
              "cause_event_id": "e-1", "correlation_id": None, "created_at": at, "next_attempt_at": at,
              "content": {"to": f"{did}@acme.test"}, "version": 1, **over}
    return Delivery(**fields)


def claimed_by(instance: str, run: str, did: str, *, lease_s: float, at: datetime = NOW) -> Delivery:
    delivery = due(did, minutes_ago=5)
    delivery.claim(Claimant(instance, run), at, lease_s)
    return delivery


def deliverer(table: Table, sender: Sender, clock: Clock | None = None, **settings: Any) -> Deliverer:
    d = Deliverer(table, table, NotifierSettings(**settings), ME, clock=clock or Clock())  # type: ignore[arg-type]
    d.mailer = d.webhooks = sender  # type: ignore[assignment]
    return d


async def until(condition: Any, timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"not within {timeout_s} s")


async def drain(d: Deliverer) -> None:
    async with asyncio.timeout(5):
        while d.in_flight:
            await asyncio.gather(*d.in_flight.values())


async def test_a_claim_held_by_a_dead_transaction_is_set_aside_and_the_others_go_out():
    table = Table(due("stuck", minutes_ago=9), due("a"), due("b"))
    table.held.add("stuck")
    clock, sender = Clock(), Sender()
    d = deliverer(table, sender, clock)
    assert await d.fill() == 2
    await drain(d)
    assert sorted(sender.sent) == ["a", "b"]
    assert await d.fill() == 0
    assert table.claims.count("stuck") == 1, "tried again before HELD_RETRY passed"
    table.held.clear()  # the database reaped the dead transaction
    clock.now += HELD_RETRY
    assert await d.fill() == 1
    await drain(d)
    assert sorted(sender.sent) == ["a", "b", "stuck"]
    assert [e.notification_id for e in table.emitted].count("stuck") == 1


async def test_a_live_claim_of_another_replica_waits_for_its_lease_and_is_then_sent_once():
    table = Table(claimed_by("replica-b", "run-1", "theirs", lease_s=30), due("mine"))
    clock, sender = Clock(), Sender()
    d = deliverer(table, sender, clock)
    await d.fill()
    await drain(d)
    assert sender.sent == ["mine"] and table.status("theirs") == DeliveryStatus.SENDING
    clock.now = NOW + timedelta(seconds=30)
    await d.fill()
    await drain(d)
    await d.fill()
    await drain(d)
    assert sender.sent == ["mine", "theirs"]
    assert table.status("theirs") == DeliveryStatus.SENT and table.rows["theirs"].claimed_by == ME


async def test_a_restarted_replica_takes_back_its_own_earlier_claims_at_once():
    table = Table(claimed_by(ME, "an-earlier-run", "mine", lease_s=60))
    sender = Sender()
    d = deliverer(table, sender)
    await d.fill()
    await drain(d)
    assert sender.sent == ["mine"]


async def test_sends_run_side_by_side_up_to_the_concurrency_bound():
    table = Table(*(due(f"p{i}") for i in range(5)))
    sender = Sender(*(f"p{i}@acme.test" for i in range(5)))
    d = deliverer(table, sender, delivery_concurrency=2)
    assert await d.fill() == 2
    await asyncio.sleep(0.01)
    assert sender.in_flight == 2 and await d.fill() == 0
    sender.release.set()
    for _ in range(3):
        await drain(d)
        await d.fill()
    await drain(d)
    assert sorted(sender.sent) == [f"p{i}" for i in range(5)]
    assert sender.most_in_flight == 2


async def test_a_send_that_never_answers_is_cut_off_and_retried_while_the_others_go_out():
    table = Table(due("silent", minutes_ago=9), due("a"), due("b"))
    sender = Sender("silent@acme.test")
    d = deliverer(table, sender, delivery_send_timeout_s=0.2)
    await d.fill()
    await asyncio.sleep(0.05)
    assert sorted(sender.sent) == ["a", "b"], "the others waited for the silent server"
    await drain(d)
    silent = table.rows["silent"]
    assert (silent.status, silent.attempts, silent.last_error) == (DeliveryStatus.PENDING, 1, "no answer within 0.2 s")
    assert silent.next_attempt_at >= NOW + timedelta(seconds=1)


async def test_a_send_timeout_frees_the_slot_even_if_the_client_is_slow_to_hang_up():
    table = Table(due("silent", minutes_ago=9), due("next"))
    sender = Sender("silent@acme.test", goodbye_s=60)
    d = deliverer(table, sender, delivery_send_timeout_s=0.2, delivery_concurrency=1)
    await d.fill()
    await drain(d)
    assert table.status("silent") == DeliveryStatus.PENDING and len(d.abandoned) == 1
    await d.fill()
    await drain(d)
    assert sender.sent == ["next"]
    await d.close()
    assert not d.abandoned


async def test_a_sender_whose_claim_was_taken_over_records_nothing():
    table = Table(due("slow"))
    sender = Sender("slow@acme.test")
    d = deliverer(table, sender)
    await d.fill()
    await asyncio.sleep(0.01)
    takeover = copy.deepcopy(table.rows["slow"])  # its lease ran out; another replica claimed and sent it
    takeover.claim(Claimant("replica-b", "run-1"), NOW + timedelta(minutes=2), lease_s=60)
    await table.save(takeover)
    sender.release.set()
    await drain(d)
    assert sender.sent == ["slow"] and table.emitted == []
    assert table.rows["slow"].claimed_by == "replica-b"


class RetryingTable(Table):
    """A unit of work whose first try is rolled back (a transient error at commit) and run again."""

    async def run(self, cause: Any, work: Any) -> Any:
        before = copy.deepcopy(self.rows)
        await work(Tx(None, None, cause))  # type: ignore[arg-type]
        self.rows = before
        return await super().run(cause, work)


async def test_an_outcome_whose_transaction_is_retried_is_still_recorded_once():
    table = RetryingTable(due("a"))
    d = deliverer(table, Sender())
    await d.fill()
    await drain(d)
    assert table.status("a") == DeliveryStatus.SENT
    assert [type(e) for e in table.emitted] == [NotificationSent]


async def test_run_refills_a_slot_as_soon_as_a_send_ends():
    table = Table(due("first", minutes_ago=2), due("second"))
    sender = Sender("first@acme.test")
    d = deliverer(table, sender, delivery_concurrency=1, delivery_poll_s=30)
    loop = asyncio.create_task(d.run(asyncio.Event()))
    try:
        await asyncio.sleep(0.05)
        assert sender.sent == []
        sender.release.set()
        for _ in range(100):
            if len(sender.sent) == 2:
                break
            await asyncio.sleep(0.01)
        assert sender.sent == ["first", "second"], "the loop waited for its poll instead of the freed slot"
        assert all(isinstance(e, NotificationSent) for e in table.emitted)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await d.close()


def test_a_lease_must_outlast_a_send():
    assert NotifierSettings(delivery_send_timeout_s=30, delivery_lease_s=31)
    with pytest.raises(ValidationError, match="longer than RECIPROCAL_DELIVERY_SEND_TIMEOUT_S"):
        NotifierSettings(delivery_send_timeout_s=30, delivery_lease_s=30)


class Backlogged:
    def __init__(self, pending: int, waiting_since: datetime | None) -> None:
        self.answer = (pending, waiting_since)

    async def backlog(self, now: datetime) -> tuple[int, datetime | None]:
        return self.answer


async def test_the_backlog_is_stuck_once_a_due_delivery_waited_past_the_threshold():
    stuck = await measure_backlog(Backlogged(3, NOW - timedelta(seconds=121)), NOW)  # type: ignore[arg-type]
    assert (stuck.pending, stuck.oldest_due_s) == (3, 121.0) and stuck.stuck(120)
    fresh = await measure_backlog(Backlogged(3, NOW - timedelta(seconds=5)), NOW)  # type: ignore[arg-type]
    assert not fresh.stuck(120)
    idle = await measure_backlog(Backlogged(0, None), NOW)  # type: ignore[arg-type]
    assert (idle.pending, idle.oldest_due_s, idle.stuck(0)) == (0, 0.0, False)


async def test_on_an_accelerated_clock_leases_and_back_off_still_last_their_real_durations():
    """Due times are on the service clock, which the embedded demo runs 86,400 times faster; a lease
    or a back-off of real seconds must then span as many virtual days, or every claim would expire
    mid-send and a short outage would use up every attempt."""
    speed = 86_400.0
    table = Table(due("slow", minutes_ago=9))
    sender = Sender("slow@acme.test")
    d = Deliverer(table, table, NotifierSettings(delivery_send_timeout_s=0.05, delivery_lease_s=30), ME,  # type: ignore[arg-type]
                  clock=Clock(), speed=speed)
    d.mailer = d.webhooks = sender  # type: ignore[assignment]
    await d.fill()
    assert table.rows["slow"].lease_expires_at == NOW + timedelta(seconds=30 * speed)
    await drain(d)
    retry = table.rows["slow"]
    assert retry.status == DeliveryStatus.PENDING
    assert retry.next_attempt_at - NOW >= timedelta(seconds=d.settings.delivery_backoff_s * speed * 0.5)


async def test_due_deliveries_are_claimed_in_one_batch_and_their_cards_read_in_one_query():
    table = Table(*(due(f"p{i}") for i in range(6)))
    sender = Sender()
    d = deliverer(table, sender, delivery_concurrency=8)
    assert await d.fill() == 6
    await drain(d)
    assert [sorted(b) for b in table.batches] == [[f"p{i}" for i in range(6)]] and table.claims == []
    assert table.contact_reads == [{("acme", f"p{i}") for i in range(6)}]
    assert sorted(sender.sent) == [f"p{i}" for i in range(6)]


async def test_a_claim_lost_within_a_batch_is_set_aside_and_the_rest_of_the_batch_goes_out():
    class Raced(Table):
        async def deliveries_by_id(self, *args: Any, **kwargs: Any) -> list[Delivery]:
            found = await super().deliveries_by_id(*args, **kwargs)
            theirs = copy.deepcopy(self.rows["raced"])  # another replica claims it between our read and our claim
            theirs.claim(Claimant("replica-b", "run-1"), NOW, lease_s=60)
            await self.save(theirs)
            return found

    table = Raced(due("a"), due("raced"), due("b"))
    sender = Sender()
    d = deliverer(table, sender)
    assert await d.fill() == 2
    await drain(d)
    assert sorted(sender.sent) == ["a", "b"] and table.claims == [] and len(table.batches) == 1
    assert table.rows["raced"].claimed_by == "replica-b" and "raced" in d.held
    assert sorted(e.notification_id for e in table.emitted) == ["a", "b"]


async def test_a_batch_meeting_a_held_row_is_claimed_one_by_one_and_only_the_held_one_waits():
    table = Table(due("a"), due("stuck"), due("b"))
    table.held.add("stuck")
    sender = Sender()
    d = deliverer(table, sender)
    assert await d.fill() == 2
    await drain(d)
    assert len(table.batches) == 1 and sorted(table.claims) == ["a", "b", "stuck"]
    assert sorted(sender.sent) == ["a", "b"] and list(d.held) == ["stuck"]
    assert await d.fill() == 0 and len(table.batches) == 1, "the held row was tried again at once"


async def test_outcomes_ready_at_the_same_time_are_recorded_in_one_transaction():
    table = Table(*(due(f"p{i}") for i in range(10)))
    d = deliverer(table, Sender(), delivery_concurrency=10)
    await d.fill()
    await drain(d)
    assert all(table.status(f"p{i}") == DeliveryStatus.SENT for i in range(10))
    assert sorted(e.notification_id for e in table.emitted) == sorted(f"p{i}" for i in range(10))
    assert table.transactions <= 2, f"{table.transactions} transactions for 10 outcomes"


async def test_a_stale_outcome_in_a_group_is_refused_alone_and_the_others_are_recorded_once():
    table = Table(due("a"), due("slow"), due("b"))
    sender = Sender("a@acme.test", "slow@acme.test", "b@acme.test")
    d = deliverer(table, sender)
    await d.fill()
    await asyncio.sleep(0.01)
    takeover = copy.deepcopy(table.rows["slow"])  # its lease ran out; another replica claimed it
    takeover.claim(Claimant("replica-b", "run-1"), NOW + timedelta(minutes=2), lease_s=60)
    await table.save(takeover)
    sender.release.set()
    await drain(d)
    assert sorted(sender.sent) == ["a", "b", "slow"]
    assert sorted(e.notification_id for e in table.emitted) == ["a", "b"]
    assert table.status("a") == table.status("b") == DeliveryStatus.SENT
    assert table.rows["slow"].claimed_by == "replica-b" and table.status("slow") == DeliveryStatus.SENDING


async def test_run_claims_in_batches_not_one_delivery_per_ended_send():
    table = Table(*(due(f"p{i:02d}") for i in range(40)))
    sender = Sender()
    d = deliverer(table, sender, delivery_concurrency=8, delivery_poll_s=30)
    loop = asyncio.create_task(d.run(asyncio.Event()))
    try:
        await until(lambda: len(sender.sent) == 40)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await d.close()
    assert sorted(sender.sent) == [f"p{i:02d}" for i in range(40)]
    assert len(table.batches) <= 20 and all(len(b) >= 2 for b in table.batches[:-1]), table.batches


async def test_run_sends_new_deliveries_as_soon_as_the_handler_records_them():
    table = Table()
    sender = Sender()
    d = deliverer(table, sender, delivery_poll_s=30)
    loop = asyncio.create_task(d.run())
    try:
        await asyncio.sleep(0.05)
        new = due("new", minutes_ago=0)
        table.rows[new.id] = new
        d.due.add([(new.id, new.next_attempt_at)])  # what notify() does once its transaction commits
        await until(lambda: bool(sender.sent), timeout_s=1)
        assert sender.sent == ["new"]
        assert table.scans == 1, "the new delivery was looked for instead of read by its id"
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await d.close()


async def test_the_database_is_scanned_once_per_poll_and_new_deliveries_are_read_by_id():
    table = Table(due("a"), due("b"))
    clock = Clock()
    d = deliverer(table, Sender(), clock, delivery_poll_s=1)
    await d.fill()
    await drain(d)
    c = due("c", minutes_ago=0)
    table.rows["c"] = c
    d.due.add([("c", c.next_attempt_at)])  # recorded by this process's handler
    await d.fill()  # woken by the new delivery, within the poll interval
    await drain(d)
    assert table.scans == 1 and table.reads[-1] == ["c"]
    theirs = claimed_by("replica-b", "run-1", "theirs", lease_s=0.5)
    table.rows[theirs.id] = theirs
    other = due("other-replicas", minutes_ago=0)  # recorded by another replica: no commit announced it here
    table.rows[other.id] = other
    assert await d.fill() == 0
    clock.now += timedelta(seconds=1)
    await d.fill()
    await drain(d)
    assert table.scans == 2
    assert table.status("theirs") == table.status("other-replicas") == DeliveryStatus.SENT


async def test_a_retry_scheduled_here_is_sent_when_due_without_a_scan():
    table = Table(due("flaky"))
    clock = Clock()
    d = deliverer(table, Sender(), clock, delivery_poll_s=3600)

    async def fails_once(request: dict[str, Any]) -> None:
        d.mailer = d.webhooks = Sender()  # type: ignore[assignment]
        raise TransientFailure("421 try later")

    d.mailer.send = fails_once  # type: ignore[method-assign]
    await d.fill()
    await drain(d)
    retry = table.rows["flaky"]
    assert retry.status == DeliveryStatus.PENDING and "flaky" in d.due
    assert await d.fill() == 0, "sent before its back-off"
    clock.now = retry.next_attempt_at
    assert await d.fill() == 1
    await drain(d)
    assert table.status("flaky") == DeliveryStatus.SENT and table.scans == 1


async def test_a_refill_reads_only_as_many_rows_as_there_are_free_slots_however_long_the_queue():
    table = Table(*(due(f"p{i:04d}", minutes_ago=1 + i % 7) for i in range(3000)))
    d = deliverer(table, Sender(), delivery_concurrency=8, delivery_queue_size=5000)
    d.due.add((i, table.rows[i].next_attempt_at) for i in table.rows)
    d.scanned_at = NOW  # scanned just now
    assert await d.fill() == 8
    await drain(d)
    assert await d.fill() == 8
    assert table.scans == 0 and [len(r) for r in table.reads] == [8, 8]
    await drain(d)


async def test_what_overflows_the_queue_is_found_by_a_scan_once_the_queue_runs_dry():
    table = Table(*(due(f"p{i}") for i in range(6)))
    d = deliverer(table, Sender(), delivery_concurrency=8, delivery_queue_size=2, delivery_poll_s=3600)
    d.scanned_at = NOW
    d.due.add((i, table.rows[i].next_attempt_at) for i in sorted(table.rows))
    assert d.due.overflowed and len(d.due) == 2
    assert await d.fill() == 2
    await drain(d)
    assert await d.fill() == 2 and table.scans == 1  # dry and overflowed: scanned, as much as fits
    await drain(d)
    for _ in range(3):
        await d.fill()
        await drain(d)
    assert all(table.status(f"p{i}") == DeliveryStatus.SENT for i in range(6))
    assert not d.due.overflowed


def recorded_claimed(table: Table, reservation: Any, did: str) -> Delivery:
    """What a handler's transaction does with a slot of its reservation: record the delivery claimed."""
    delivery = due(did, minutes_ago=0)
    assert reservation.claim(delivery, Contact(did, "acme", email=f"{did}@acme.test"), NOW)
    table.rows[did] = copy.deepcopy(delivery)  # the insert
    return delivery


async def test_deliveries_a_handler_records_claimed_are_sent_on_commit_without_a_read_or_a_claim():
    table = Table()
    sender = Sender()
    d = deliverer(table, sender, delivery_poll_s=30, delivery_concurrency=4)
    assert d.due.reserve(2) is None, "no running loop: the deliveries are queued as before"
    loop = asyncio.create_task(d.run())
    try:
        await until(lambda: table.scans == 1)
        reservation = d.due.reserve(2)
        assert reservation is not None and reservation.slots == 2 and d.free_slots() == 2
        for did in ("ana", "ben"):
            recorded_claimed(table, reservation, did)
        assert not reservation.claim(due("third", minutes_ago=0), Contact("third", "acme"), NOW), "beyond its slots"
        assert table.rows["ana"].status == DeliveryStatus.SENDING and table.rows["ana"].claim_run == d.claimant.run
        reservation.committed()
        await until(lambda: table.status("ana") == table.status("ben") == DeliveryStatus.SENT, timeout_s=1)
        assert sorted(sender.sent) == ["ana", "ben"]
        assert (table.reads, table.batches, table.claims, table.contact_reads) == ([], [], [], [])
        assert d.free_slots() == 4
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await d.close()
    assert d.due.sender is None


async def test_slots_a_transaction_holds_are_not_filled_by_the_loop_and_are_freed_if_it_fails():
    table = Table(due("waiting"))
    d = deliverer(table, Sender(), delivery_concurrency=2)
    d.due.sender = d  # as run() does
    reservation = d.due.reserve(5)
    assert reservation is not None and reservation.slots == 2
    assert await d.fill() == 0, "every slot is held by the transaction"
    recorded_claimed(table, reservation, "aborted")
    reservation.restart()  # the transaction is retried: the first attempt wrote nothing
    assert reservation.claimed == []
    reservation.abandoned()  # and then it fails
    assert d.free_slots() == 2
    assert await d.fill() == 1
    await drain(d)
    assert table.status("waiting") == DeliveryStatus.SENT


async def test_a_claim_handed_over_but_never_sent_is_taken_back_by_the_restarted_replica():
    table = Table()
    dead = deliverer(table, Sender())
    dead.due.sender = dead
    reservation = dead.due.reserve(1)
    assert reservation is not None
    recorded_claimed(table, reservation, "orphan")  # committed; the process dies before handing it over
    restarted = deliverer(table, Sender())  # same instance, a new run
    assert await restarted.fill() == 1
    await drain(restarted)
    assert table.status("orphan") == DeliveryStatus.SENT


def test_a_transaction_that_erases_a_person_hands_nothing_over_in_memory():
    """Its anonymising rewrites the rows it recorded before; only the loop's read of them sends the new text."""
    from services.notifier.handlers import _reservation_for
    from shared.contract import MatchProposed, MatchWithdrawn

    d = deliverer(Table(), Sender())
    d.due.sender = d  # as run() does
    proposed = MatchProposed.model_construct(org_id="acme")
    erasure = MatchWithdrawn.model_construct(org_id="acme", erased_person_id="ana")
    plain_withdrawal = MatchWithdrawn.model_construct(org_id="acme", erased_person_id=None)
    assert _reservation_for([proposed, erasure], d.due) is None and d.free_slots() == 8
    held = _reservation_for([proposed, plain_withdrawal], d.due)
    assert held is not None and held.slots == 4 and d.free_slots() == 4
    held.abandoned()
    assert d.free_slots() == 8


async def test_after_a_slow_scan_the_next_one_still_comes_within_five_seconds(monkeypatch):
    """A claim whose lease ran out is found by the next scan; one slow scan (a busy database) must not
    push it out by SCAN_SHARE times its duration."""
    import services.notifier.handlers as handlers

    ticks = iter([100.0, 103.0])  # the scan's start and end: it took 3 s
    monkeypatch.setattr(handlers.time, "perf_counter", lambda: next(ticks))
    d = deliverer(Table(), Sender(), delivery_poll_s=1)
    await d._scan(NOW, 8, ())
    assert timedelta(seconds=1) < d.scan_every <= timedelta(seconds=5)
