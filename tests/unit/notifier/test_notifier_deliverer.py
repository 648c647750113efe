"""The Deliverer's decisions, with an in-memory repository and unit of work and a scripted sender."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notifier.adapters.senders import TransientFailure
from services.notifier.domain import Claimant, Contact, Delivery, DeliveryStatus
from services.notifier.handlers import Deliverer
from services.notifier.settings import NotifierSettings
from shared.contract import NotificationFailed, NotificationSent
from shared.store import Tx

ANA = Contact("p-ana", "acme", "Ana", "ana@acme.test")


class Memory:
    """Just enough of NotifierRepository and UnitOfWork."""

    def __init__(self, contacts: list[Contact]) -> None:
        self.contacts = {c.person_id: c for c in contacts}
        self.retries: list[tuple[int, datetime, str]] = []
        self.finished: list[tuple[str, int, str | None]] = []
        self.emitted: list[Any] = []

    async def contacts_of(self, org_id: str, person_ids: list[str], tx: Tx | None = None) -> dict[str, Contact]:
        return {p: c for p, c in self.contacts.items() if p in person_ids and c.org_id == org_id}

    async def save(self, delivery: Delivery, tx: Tx | None = None) -> bool:
        if delivery.status == DeliveryStatus.PENDING:
            self.retries.append((delivery.attempts, delivery.next_attempt_at, delivery.last_error))
        else:
            self.finished.append((delivery.status, delivery.attempts, delivery.last_error))
        return True

    async def run(self, cause: Any, work: Any) -> Any:
        tx = Tx(None, None, cause)  # type: ignore[arg-type]
        result = await work(tx)
        self.emitted += tx.emitted
        return result


class Sender:
    def __init__(self, *outcomes: BaseException | None) -> None:
        self.outcomes, self.calls = list(outcomes), 0

    async def send(self, delivery: dict[str, Any]) -> None:
        self.calls += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome


def deliverer(memory: Memory, sender: Sender, **settings: Any) -> Deliverer:
    d = Deliverer(memory, memory, NotifierSettings(**settings), "test")  # type: ignore[arg-type]
    d.mailer = d.webhooks = sender  # type: ignore[assignment]
    return d


def delivery(attempts: int = 0, **over: Any) -> Delivery:
    """A delivery this deliverer has just claimed, after `attempts` earlier tries."""
    now = datetime.now(UTC)
    fields = {"id": "d-1", "org_id": "acme", "person_id": "p-ana", "channel": "email", "kind": "match_proposed",
              "cause_event_id": "e-1", "correlation_id": None, "created_at": now, "next_attempt_at": now,
              "attempts": attempts, "contact_on_file": True, **over}
    claimed = Delivery(**fields)
    claimed.claim(Claimant("test", "run"), now, lease_s=60)
    return claimed


async def test_an_unexpected_error_is_retried_then_reported_as_failed():
    memory = Memory([ANA])
    sender = Sender(KeyError("boom"), KeyError("boom"))
    d = deliverer(memory, sender, delivery_attempts=2, delivery_backoff_s=1.0)
    before = datetime.now(UTC)
    await d.deliver(delivery(0))
    assert [(attempts, error) for attempts, _, error in memory.retries] == [(1, "unexpected KeyError")]
    assert before + timedelta(seconds=1) <= memory.retries[0][1] <= datetime.now(UTC) + timedelta(seconds=2)
    assert memory.finished == []
    await d.deliver(delivery(1))
    assert memory.finished == [("failed", 2, "gave up after 2 attempts: unexpected KeyError")]
    (failed,) = memory.emitted
    assert isinstance(failed, NotificationFailed) and failed.notification_id == "d-1"


async def test_retry_after_sets_the_next_attempt_within_the_cap():
    memory = Memory([ANA])
    d = deliverer(memory, Sender(TransientFailure("HTTP 429", retry_after_s=3600)), delivery_backoff_max_s=120)
    await d.deliver(delivery(0, channel="webhook"))
    (attempts, at, error), = memory.retries
    assert (attempts, error) == (1, "HTTP 429")
    assert timedelta(seconds=119) < at - datetime.now(UTC) <= timedelta(seconds=120)


@pytest.mark.parametrize(("contacts", "reason"), [([ANA.withdrawn()], "recipient withdrawn"), ([], "recipient gone")])
async def test_a_recipient_who_withdrew_since_is_not_sent_anything(contacts, reason):
    memory, sender = Memory(contacts), Sender()
    await deliverer(memory, sender).deliver(delivery(2))
    assert sender.calls == 0
    assert memory.finished == [("suppressed", 2, reason)]
    assert memory.emitted == []


async def test_a_submitter_without_a_card_is_still_told_about_a_rejection():
    memory, sender = Memory([]), Sender()
    await deliverer(memory, sender).deliver(delivery(0, contact_on_file=False))
    assert sender.calls == 1 and memory.finished == [("sent", 1, None)]
    assert isinstance(memory.emitted[0], NotificationSent)
