"""The notifier's pure logic: contacts, messages, invites, webhook signing and delivery identities."""

from services.notifier.domain.deliveries import delivery_id, message_id
from services.notifier.domain.invites import schedule_invite, series_uid
from services.notifier.domain.messages import recipients, render
from services.notifier.domain.model import (
    DEFAULT_CHANNELS,
    Contact,
    Message,
    contact_from_profile,
    contact_from_rejection,
)
from services.notifier.domain.webhooks import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    encode_body,
    sign,
    signed_headers,
    verify,
    webhook_payload,
)

__all__ = [
    "DEFAULT_CHANNELS", "Contact", "Message", "contact_from_profile", "contact_from_rejection",
    "recipients", "render", "schedule_invite", "series_uid",
    "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "IDEMPOTENCY_HEADER", "sign", "verify", "encode_body",
    "signed_headers", "webhook_payload", "delivery_id", "message_id",
]
