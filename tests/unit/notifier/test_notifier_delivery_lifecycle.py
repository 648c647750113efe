"""The Delivery aggregate: its states, the events each transition causes, and the transitions it refuses."""

from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.domain import Claimant, Delivery, DeliveryStatus, IllegalTransition, RetryPolicy
from shared.contract import NotificationFailed, NotificationSent

NOW = datetime(2027, 1, 12, 9, 0, tzinfo=UTC)
ME = Claimant("replica-a", "run-2")
POLICY = RetryPolicy(attempts=3, backoff_s=1.0, max_s=300.0)


def pending(channel: str = "email", **over) -> Delivery:
    fields = {"id": "d-1", "org_id": "acme", "person_id": "p-ana", "channel": channel, "kind": "match_proposed",
              "cause_event_id": "e-1", "correlation_id": "c-1", "created_at": NOW, "next_attempt_at": NOW, **over}
    return Delivery(**fields)


def sending(**over) -> Delivery:
    delivery = pending(**over)
    delivery.claim(ME, NOW, lease_s=60)
    return delivery


def finished(status: DeliveryStatus) -> Delivery:
    delivery = sending()
    finish = {DeliveryStatus.SENT: lambda: delivery.mark_sent(NOW),
              DeliveryStatus.FAILED: lambda: delivery.fail("HTTP 410", NOW),
              DeliveryStatus.SUPPRESSED: lambda: delivery.suppress("recipient withdrawn", NOW)}
    finish[status]()
    return delivery


def test_a_due_delivery_is_claimed_for_a_lease():
    delivery = pending()
    assert delivery.claim(ME, NOW, lease_s=60) == []
    assert delivery.status == DeliveryStatus.SENDING
    assert (delivery.claimed_by, delivery.claim_run, delivery.claimed_at) == ("replica-a", "run-2", NOW)
    assert delivery.lease_expires_at == NOW + timedelta(seconds=60)


def test_a_claim_whose_lease_expired_is_taken_over_by_another_replica():
    delivery = pending()
    delivery.claim(Claimant("replica-b", "run-1"), NOW, lease_s=30)
    assert not delivery.claimable_by(ME, NOW + timedelta(seconds=29))
    assert delivery.claimable_by(ME, NOW + timedelta(seconds=30))
    delivery.claim(ME, NOW + timedelta(seconds=30), lease_s=60)
    assert delivery.claimed_by == "replica-a"


def test_a_replica_restarted_under_its_name_takes_back_its_earlier_runs_claims_at_once():
    delivery = pending()
    delivery.claim(Claimant("replica-a", "run-1"), NOW, lease_s=60)
    assert delivery.claimable_by(ME, NOW + timedelta(seconds=1))
    assert not delivery.claimable_by(Claimant("replica-a", "run-1"), NOW + timedelta(seconds=1))


def test_mark_sent_counts_the_attempt_and_causes_notifications_sent():
    delivery = sending(attempts=2)
    (event,) = delivery.mark_sent(NOW)
    assert isinstance(event, NotificationSent)
    assert (event.notification_id, event.person_id, event.channel, event.cause_event_id, event.correlation_id) == (
        "d-1", "p-ana", "email", "e-1", "c-1")
    assert (delivery.status, delivery.attempts, delivery.finished_at, delivery.lease_expires_at) == (
        DeliveryStatus.SENT, 3, NOW, None)


def test_a_transient_failure_waits_with_backoff_then_gives_up_with_notifications_failed():
    delivery = sending()
    assert delivery.mark_transient_failure("SMTP 451", NOW, POLICY) == []
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.PENDING, 1, "SMTP 451")
    assert NOW + timedelta(seconds=1) <= delivery.next_attempt_at <= NOW + timedelta(seconds=2)
    assert not delivery.claimable_by(ME, NOW)
    delivery.claim(ME, delivery.next_attempt_at, lease_s=60)
    assert delivery.mark_transient_failure("HTTP 503", NOW, POLICY, retry_after_s=42) == []
    assert delivery.next_attempt_at == NOW + timedelta(seconds=42)
    delivery.claim(ME, delivery.next_attempt_at, lease_s=60)
    (event,) = delivery.mark_transient_failure("HTTP 503", NOW, POLICY)
    assert isinstance(event, NotificationFailed) and event.error == "gave up after 3 attempts: HTTP 503"
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 3)


def test_a_permanent_failure_fails_at_once():
    delivery = sending()
    (event,) = delivery.fail("HTTP 410", NOW)
    assert isinstance(event, NotificationFailed) and event.error == "HTTP 410"
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.FAILED, 1, "HTTP 410")


def test_a_suppressed_delivery_publishes_nothing_and_counts_no_attempt():
    delivery = sending(attempts=2)
    assert delivery.suppress("recipient withdrawn", NOW) == []
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.SUPPRESSED, 2,
                                                                         "recipient withdrawn")


def test_an_inbox_delivery_is_sent_by_recording_it():
    delivery = pending(channel="inbox")
    (event,) = delivery.deliver_in_app(NOW)
    assert isinstance(event, NotificationSent) and event.channel == "inbox"
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 1)


def test_due_since_is_when_a_waiting_delivery_became_due():
    assert pending().due_since(NOW + timedelta(seconds=5)) == NOW
    assert pending(next_attempt_at=NOW + timedelta(seconds=9)).due_since(NOW) is None
    claimed = sending()
    assert claimed.due_since(NOW + timedelta(seconds=59)) is None
    assert claimed.due_since(NOW + timedelta(seconds=61)) == NOW + timedelta(seconds=60)
    assert finished(DeliveryStatus.SENT).due_since(NOW + timedelta(days=1)) is None


# Every transition a status does not allow raises, and leaves the delivery as it was.

ILLEGAL = {
    "claim before it is due": (lambda: pending(next_attempt_at=NOW + timedelta(seconds=1)),
                               lambda d: d.claim(ME, NOW, lease_s=60)),
    "claim another replica's live claim": (lambda: _claimed_by_other(),
                                           lambda d: d.claim(ME, NOW + timedelta(seconds=1), lease_s=60)),
    "claim one's own live claim": (sending, lambda d: d.claim(ME, NOW + timedelta(seconds=1), lease_s=60)),
    "mark a pending delivery sent": (pending, lambda d: d.mark_sent(NOW)),
    "retry a pending delivery": (pending, lambda d: d.mark_transient_failure("x", NOW, POLICY)),
    "fail a pending delivery": (pending, lambda d: d.fail("x", NOW)),
    "suppress a pending delivery": (pending, lambda d: d.suppress("x", NOW)),
    "deliver an email in the app": (pending, lambda d: d.deliver_in_app(NOW)),
    "deliver a claimed inbox entry in the app": (lambda: sending(channel="inbox"), lambda d: d.deliver_in_app(NOW)),
}
for status in (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SUPPRESSED):
    ILLEGAL |= {
        f"claim a {status} delivery": (lambda s=status: finished(s),
                                       lambda d: d.claim(ME, NOW + timedelta(days=1), 60)),
        f"mark a {status} delivery sent": (lambda s=status: finished(s), lambda d: d.mark_sent(NOW)),
        f"retry a {status} delivery": (lambda s=status: finished(s),
                                       lambda d: d.mark_transient_failure("x", NOW, POLICY)),
        f"fail a {status} delivery": (lambda s=status: finished(s), lambda d: d.fail("x", NOW)),
        f"suppress a {status} delivery": (lambda s=status: finished(s), lambda d: d.suppress("x", NOW)),
    }


def _claimed_by_other() -> Delivery:
    delivery = pending()
    delivery.claim(Claimant("replica-b", "run-1"), NOW, lease_s=60)
    return delivery


@pytest.mark.parametrize("transition", sorted(ILLEGAL))
def test_an_illegal_transition_raises_and_changes_nothing(transition):
    build, change = ILLEGAL[transition]
    delivery = build()
    before = vars(delivery).copy()
    with pytest.raises(IllegalTransition):
        change(delivery)
    assert vars(delivery) == before
