"""The notifier's pure logic: contacts, messages, invites, webhook signing, retries and deliveries."""

from services.notifier.domain.deliveries import (
    Claimant,
    Delivery,
    DeliveryStatus,
    IllegalTransition,
    delivery_id,
    message_id,
    suppression,
)
from services.notifier.domain.inbox import decode_cursor, encode_cursor
from services.notifier.domain.invites import schedule_invite
from services.notifier.domain.messages import Background, recipients, render
from services.notifier.domain.model import (
    DEFAULT_CHANNELS,
    Contact,
    Message,
    contact_from_profile,
    contact_from_rejection,
)
from services.notifier.domain.reasons import withdrawal_reasons
from services.notifier.domain.retries import RetryPolicy, retry_after_seconds, retry_delay
from services.notifier.domain.webhooks import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_FIELD,
    TIMESTAMP_HEADER,
    encode_body,
    sign,
    signed_request,
    verify,
    webhook_payload,
)
from shared.calendar_identity import series_uid

__all__ = [
    "DEFAULT_CHANNELS",
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_FIELD",
    "TIMESTAMP_HEADER",
    "Background",
    "Claimant",
    "Contact",
    "Delivery",
    "DeliveryStatus",
    "IllegalTransition",
    "Message",
    "RetryPolicy",
    "contact_from_profile",
    "contact_from_rejection",
    "decode_cursor",
    "delivery_id",
    "encode_body",
    "encode_cursor",
    "message_id",
    "recipients",
    "render",
    "retry_after_seconds",
    "retry_delay",
    "schedule_invite",
    "series_uid",
    "sign",
    "signed_request",
    "suppression",
    "verify",
    "webhook_payload",
    "withdrawal_reasons"
]
