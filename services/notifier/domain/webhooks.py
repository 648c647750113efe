"""Signed JSON webhooks: the body, its HMAC-SHA256 signature and the replay window."""

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from services.notifier.domain.model import Contact, Message
from shared.contract.envelope import Event

SIGNATURE_HEADER = "X-Reciprocal-Signature"
TIMESTAMP_HEADER = "X-Reciprocal-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_PREFIX = "sha256="


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 over b"{timestamp}." + body; the timestamp is Unix seconds."""
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify(
    secret: bytes, timestamp: str, body: bytes, signature: str, *, now: datetime | float, tolerance_s: int = 300
) -> bool:
    """True if the signature matches and the timestamp is within tolerance_s of now, either side."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    now_s = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(now_s - sent_at) > tolerance_s:
        return False
    signature = signature.strip().removeprefix(SIGNATURE_PREFIX)
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes to sign and send."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signed_headers(secret: bytes, body: bytes, *, timestamp: str, idempotency_key: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        IDEMPOTENCY_HEADER: idempotency_key,
    }


def webhook_payload(event: Event, recipient: Contact, message: Message) -> dict[str, Any]:
    return {
        "type": message.kind,
        "event_id": str(event.event_id),
        "event_type": event.event_type,
        "occurred_at": event.occurred_at.isoformat(),
        "org_id": event.org_id,
        "correlation_id": event.correlation_id,
        "person_id": recipient.person_id,
        "subject": message.subject,
        "text": message.text,
        "data": message.data,
    }
