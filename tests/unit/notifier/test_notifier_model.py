from dataclasses import FrozenInstanceError

import pytest

from services.notifier.domain import Contact, Message, contact_from_profile, contact_from_rejection
from shared.contract.events import ProfileChanged


def profile(**over) -> ProfileChanged:
    fields = dict(org_id="acme", person_id="p-1", version=1, display_name="Ana", email="ana@acme.test",
                  timezone="America/New_York", locale="pt")
    return ProfileChanged(**{**fields, **over})


def test_contact_from_profile_copies_contact_details_and_defaults_to_email_and_inbox():
    contact = contact_from_profile(profile())
    assert contact == Contact(
        "p-1", "acme", "Ana", "ana@acme.test", "pt", "America/New_York", ("email", "inbox"), None, True
    )


def test_contact_from_profile_keeps_chosen_channels_webhook_and_withdrawal():
    contact = contact_from_profile(
        profile(channels=["webhook", "inbox", "webhook"], webhook_url="https://h.test/x", active=False)
    )
    assert contact.channels == ("webhook", "inbox")
    assert contact.webhook_url == "https://h.test/x"
    assert contact.active is False


def test_doc_round_trip_ignores_storage_fields():
    contact = contact_from_profile(profile(channels=["email", "webhook"], webhook_url="https://h.test/x"))
    doc = contact.to_doc()
    assert doc["channels"] == ["email", "webhook"]
    assert Contact.from_doc({**doc, "_id": "acme:p-1", "updated_at": 5}) == contact


def test_contact_is_frozen():
    with pytest.raises(FrozenInstanceError):
        contact_from_profile(profile()).email = "x"  # type: ignore[misc]


def test_deliverable_channels_drop_unreachable_ones_and_everything_once_withdrawn():
    contact = Contact("p", "o", "P", "", channels=("email", "webhook", "inbox"), webhook_url="https://h.test")
    assert contact.deliverable_channels() == ("webhook", "inbox")
    assert contact.withdrawn().deliverable_channels() == ()


def test_unknown_time_zone_falls_back_to_utc():
    assert Contact("p", "o", timezone="Mars/Olympus").zone.key == "UTC"
    assert Contact("p", "o", timezone="Europe/London").zone.key == "Europe/London"


def test_name_falls_back_to_person_id():
    assert Contact("p-7", "o", display_name="  ").name == "p-7"


def test_rejection_contact_prefers_the_submitted_details(make):
    event = make.rejected()
    fresh = contact_from_rejection(event)
    assert (fresh.person_id, fresh.org_id, fresh.email, fresh.display_name) == (
        event.person_id,
        "acme",
        event.email,
        "Ana Silva",
    )
    assert fresh.active
    known = Contact(event.person_id, "acme", "Old", "old@acme.test", timezone="Asia/Tokyo")
    merged = contact_from_rejection(event, known)
    assert (merged.email, merged.timezone, merged.active) == (event.email, "Asia/Tokyo", True)


def test_a_refused_submission_does_not_bring_a_withdrawn_person_back(make):
    event = make.rejected()
    withdrawn = Contact(event.person_id, "acme", "Old", "old@acme.test", active=False)
    assert contact_from_rejection(event, withdrawn).active is False


def test_message_defaults():
    message = Message("p", "k", "s", "t", "<p>t</p>")
    assert (message.calendar, message.calendar_method, message.data) == (None, None, {})
