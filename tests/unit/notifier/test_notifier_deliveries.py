import re
from uuid import UUID, uuid4

import pytest

from services.notifier.domain import Contact, delivery_id, message_id, suppression

EVENT = UUID("9b2f0c3e-1d4a-4f6b-8c7d-0e1f2a3b4c5d")


def test_delivery_id_is_stable_across_processes_and_accepts_uuid_or_string():
    # pinned: changing the derivation would make every redelivered event look new
    assert delivery_id(EVENT, "p-1", "email") == delivery_id(str(EVENT), "p-1", "email")
    assert delivery_id(EVENT, "p-1", "email") == "5e2f78ae-e9a1-50a0-bf1a-40f148e50e4d"


def test_delivery_id_differs_per_event_recipient_and_channel():
    ids = {
        delivery_id(EVENT, "p-1", "email"), delivery_id(EVENT, "p-1", "inbox"),
        delivery_id(EVENT, "p-2", "email"), delivery_id(uuid4(), "p-1", "email"),
    }
    assert len(ids) == 4


def test_delivery_id_parts_cannot_run_together():
    assert delivery_id("e", "p1", "email") != delivery_id("e", "p", "1email")


def test_message_id_is_rfc5322_shaped_and_stable():
    delivery = delivery_id(EVENT, "p-1", "email")
    assert message_id(delivery, "mail.acme.test") == f"<{delivery}@mail.acme.test>"
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", message_id(delivery, "acme.test"))


@pytest.mark.parametrize("domain", ["", "bad domain", "a@b", "<x>"])
def test_message_id_rejects_bad_domains(domain):
    with pytest.raises(ValueError):
        message_id("d-1", domain)


def test_a_withdrawn_or_removed_recipient_suppresses_the_send():
    active = Contact("p-1", "acme", email="a@acme.test")
    assert suppression(active) is None
    assert suppression(active.withdrawn()) == "recipient withdrawn"
    assert suppression(None) == "recipient gone"


def test_a_first_submission_rejected_before_any_card_existed_is_still_sent():
    assert suppression(None, had_card=False) is None
    assert suppression(Contact("p-1", "acme", active=False), had_card=False) == "recipient withdrawn"
