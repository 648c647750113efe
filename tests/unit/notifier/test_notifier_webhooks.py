import hashlib
import hmac
import json
from datetime import UTC, datetime

from services.notifier.domain import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    encode_body,
    render,
    sign,
    signed_headers,
    verify,
    webhook_payload,
)

SECRET = b"org-secret"
NOW = 1_800_000_000
BODY = b'{"type":"match_proposed"}'


def test_header_names():
    assert (SIGNATURE_HEADER, TIMESTAMP_HEADER, IDEMPOTENCY_HEADER) == (
        "X-Reciprocal-Signature", "X-Reciprocal-Timestamp", "Idempotency-Key",
    )


def test_signature_is_hmac_sha256_hex_over_timestamp_dot_body():
    expected = hmac.new(SECRET, f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, str(NOW), BODY) == expected


def test_valid_signature_verifies_with_float_or_datetime_now():
    signature = sign(SECRET, str(NOW), BODY)
    assert verify(SECRET, str(NOW), BODY, signature, now=NOW + 10)
    assert verify(SECRET, str(NOW), BODY, "sha256=" + signature, now=datetime.fromtimestamp(NOW - 10, UTC))


def test_tampering_fails():
    signature = sign(SECRET, str(NOW), BODY)
    assert not verify(SECRET, str(NOW), BODY + b" ", signature, now=NOW)
    assert not verify(SECRET, str(NOW + 1), BODY, signature, now=NOW)
    assert not verify(b"other-secret", str(NOW), BODY, signature, now=NOW)
    assert not verify(SECRET, str(NOW), BODY, signature[:-1] + ("0" if signature[-1] != "0" else "1"), now=NOW)


def test_replay_window():
    signature = sign(SECRET, str(NOW), BODY)
    assert verify(SECRET, str(NOW), BODY, signature, now=NOW + 300)
    assert not verify(SECRET, str(NOW), BODY, signature, now=NOW + 301)
    assert not verify(SECRET, str(NOW), BODY, signature, now=NOW - 301)
    assert verify(SECRET, str(NOW), BODY, signature, now=NOW + 3000, tolerance_s=3600)


def test_malformed_timestamp_fails():
    assert not verify(SECRET, "yesterday", BODY, sign(SECRET, "yesterday", BODY), now=NOW)


def test_signed_headers_verify(make, ana, contacts):
    event = make.proposed()
    body = encode_body(webhook_payload(event, ana, render(event, ana, contacts)))
    headers = signed_headers(SECRET, body, timestamp=str(NOW), idempotency_key="d-1")
    assert headers[IDEMPOTENCY_HEADER] == "d-1" and headers["Content-Type"] == "application/json"
    assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER], now=NOW)


def test_payload_is_json_with_event_identity_and_message(make, ana, contacts):
    event = make.created()
    message = render(event, ana, contacts)
    payload = json.loads(encode_body(webhook_payload(event, ana, message)))
    assert payload["type"] == "schedule_created" and payload["event_type"] == "schedules.created"
    assert payload["event_id"] == str(event.event_id) and payload["org_id"] == "acme"
    assert payload["person_id"] == "p-ana" and payload["subject"] == message.subject
    assert payload["data"]["schedule_id"] == "sch-1"
    assert payload["data"]["sessions"][0]["starts_at"] == "2027-01-12T14:30:00+00:00"
    assert "ana@acme.test" not in json.dumps(payload)


def test_body_encoding_is_stable():
    assert encode_body({"b": 1, "a": "é"}) == encode_body({"a": "é", "b": 1}) == '{"a":"é","b":1}'.encode()
