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
from services.notifier.domain.invites import schedule_invite, series_uid
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

__all__ = [
    "DEFAULT_CHANNELS", "Contact", "Message", "contact_from_profile", "contact_from_rejection",
    "Background", "recipients", "render", "schedule_invite", "series_uid", "withdrawal_reasons",
    "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "TIMESTAMP_FIELD", "IDEMPOTENCY_HEADER", "sign", "verify",
    "encode_body", "signed_request", "webhook_payload", "delivery_id", "message_id", "suppression",
    "retry_delay", "retry_after_seconds", "RetryPolicy", "encode_cursor", "decode_cursor",
    "Delivery", "DeliveryStatus", "Claimant", "IllegalTransition"
]
