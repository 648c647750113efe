"""Signed JSON webhooks: the body, its HMAC-SHA256 signature and the replay window.

X-Reciprocal-Signature is the bare lowercase hex HMAC-SHA256 of the raw body bytes. The body carries
`timestamp` (Unix seconds, the same value as the X-Reciprocal-Timestamp header), so the signature
covers it: a receiver checks the signature, that the two timestamps agree, and that they are recent.
"""

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
TIMESTAMP_FIELD = "timestamp"


def sign(secret: bytes, body: bytes) -> str:
    """Hex HMAC-SHA256 over the raw body."""
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(
    secret: bytes, timestamp: str, body: bytes, signature: str, *, now: datetime | float, tolerance_s: int = 300
) -> bool:
    """True if the signature matches the body, the body's timestamp equals the header's `timestamp`,
    and it is within tolerance_s of now, either side."""
    if not hmac.compare_digest(sign(secret, body), signature.strip()):
        return False
    try:
        sent_at = json.loads(body)[TIMESTAMP_FIELD]
    except (ValueError, TypeError, KeyError):
        return False
    if type(sent_at) is not int or str(sent_at) != timestamp.strip():
        return False
    now_s = now.timestamp() if isinstance(now, datetime) else float(now)
    return abs(now_s - sent_at) <= tolerance_s


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes to sign and send."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signed_request(
    secret: bytes, payload: dict[str, Any], *, timestamp: int, idempotency_key: str
) -> tuple[bytes, dict[str, str]]:
    """The body (the payload stamped with `timestamp`) and its headers, built at send time."""
    body = encode_body({**payload, TIMESTAMP_FIELD: timestamp})
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, body),
        IDEMPOTENCY_HEADER: idempotency_key,
    }
    return body, headers


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
