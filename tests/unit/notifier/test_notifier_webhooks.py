import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from services.notifier.domain import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_FIELD,
    TIMESTAMP_HEADER,
    encode_body,
    render,
    sign,
    signed_request,
    verify,
    webhook_payload,
)

SECRET = b"org-secret"
NOW = 1_800_000_000
PAYLOAD = {"type": "match_proposed"}


def request(payload=PAYLOAD, *, timestamp=NOW, secret=SECRET):
    return signed_request(secret, payload, timestamp=timestamp, idempotency_key="d-1")


def test_header_names():
    assert (SIGNATURE_HEADER, TIMESTAMP_HEADER, IDEMPOTENCY_HEADER) == (
        "X-Reciprocal-Signature", "X-Reciprocal-Timestamp", "Idempotency-Key",
    )


def test_signature_is_bare_lowercase_hex_hmac_sha256_over_the_raw_body():
    body = b'{"timestamp":1800000000,"type":"match_proposed"}'
    expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    assert sign(SECRET, body) == expected
    assert request() == (body, {
        "Content-Type": "application/json", TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: expected,
        IDEMPOTENCY_HEADER: "d-1",
    })


def test_the_signed_body_carries_the_send_timestamp_so_it_cannot_be_replayed_with_a_new_header():
    body, headers = request()
    assert json.loads(body)[TIMESTAMP_FIELD] == NOW == int(headers[TIMESTAMP_HEADER])
    later = str(NOW + 3600)
    assert not verify(SECRET, later, body, headers[SIGNATURE_HEADER], now=NOW + 3600)


def test_valid_request_verifies_with_float_or_datetime_now():
    body, headers = request()
    assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER], now=NOW + 10)
    assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER],
                  now=datetime.fromtimestamp(NOW - 10, UTC))


def test_tampering_fails():
    body, headers = request()
    signature = headers[SIGNATURE_HEADER]
    assert not verify(SECRET, str(NOW), body + b" ", signature, now=NOW)
    assert not verify(b"other-secret", str(NOW), body, signature, now=NOW)
    assert not verify(SECRET, str(NOW), body, signature[:-1] + ("0" if signature[-1] != "0" else "1"), now=NOW)
    assert not verify(SECRET, str(NOW), body, "sha256=" + signature, now=NOW)


def test_replay_window():
    body, headers = request()
    signature = headers[SIGNATURE_HEADER]
    assert verify(SECRET, str(NOW), body, signature, now=NOW + 300)
    assert not verify(SECRET, str(NOW), body, signature, now=NOW + 301)
    assert not verify(SECRET, str(NOW), body, signature, now=NOW - 301)
    assert verify(SECRET, str(NOW), body, signature, now=NOW + 3000, tolerance_s=3600)


@pytest.mark.parametrize("body", [b'{"type":"x"}', b'{"timestamp":"1800000000"}', b"[1]", b"not json"])
def test_a_body_without_an_integer_timestamp_fails_even_if_signed(body):
    assert not verify(SECRET, str(NOW), body, sign(SECRET, body), now=NOW)


def test_payload_is_json_with_event_identity_and_message(make, ana, contacts):
    event = make.created()
    message = render(event, ana, contacts)
    payload = json.loads(request(webhook_payload(event, ana, message))[0])
    assert payload["type"] == "schedule_created" and payload["event_type"] == "schedules.created"
    assert payload["event_id"] == str(event.event_id) and payload["org_id"] == "acme"
    assert payload["person_id"] == "p-ana" and payload["subject"] == message.subject
    assert payload["data"]["schedule_id"] == "sch-1"
    assert payload["data"]["sessions"][0]["starts_at"] == "2027-01-12T14:30:00+00:00"
    assert payload[TIMESTAMP_FIELD] == NOW
    assert "ana@acme.test" not in json.dumps(payload)


def test_body_encoding_is_stable():
    assert encode_body({"b": 1, "a": "é"}) == encode_body({"a": "é", "b": 1}) == '{"a":"é","b":1}'.encode()
