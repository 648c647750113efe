import re
from uuid import UUID, uuid4

import pytest

from services.notifier.domain import delivery_id, message_id

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
