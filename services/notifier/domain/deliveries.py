"""Deterministic identities for deliveries, so a redelivered event maps onto the same send."""

import re
from uuid import UUID, uuid5

from services.notifier.domain.model import Contact

DELIVERY_NAMESPACE = UUID("6f1c3a52-4d0e-5b8a-9c1e-7a2f0d9b3e41")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_LOCAL = re.compile(r"[A-Za-z0-9._+=-]+")


def delivery_id(cause_event_id: str | UUID, person_id: str, channel: str) -> str:
    """One id per (cause event, recipient, channel): the key of the delivery ledger."""
    return str(uuid5(DELIVERY_NAMESPACE, "\x1f".join((str(cause_event_id), person_id, channel))))


def message_id(delivery_id: str, domain: str) -> str:
    """RFC 5322 Message-ID for an email delivery; the same delivery always gets the same id."""
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(f"not a usable Message-ID domain: {domain!r}")
    if not _LOCAL.fullmatch(delivery_id):
        raise ValueError(f"not a usable Message-ID left part: {delivery_id!r}")
    return f"<{delivery_id}@{domain}>"


def suppression(contact: Contact | None, *, had_card: bool = True) -> str | None:
    """Why a queued email or webhook must not go out after all (None: send it). Checked just before
    sending: a person who withdrew, or whose contact card was removed, gets nothing further. A
    submitter who never had a card (a first profile rejected) is still told."""
    if contact is None:
        return "recipient gone" if had_card else None
    if not contact.active:
        return "recipient withdrawn"
    return None
