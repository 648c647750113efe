"""Plumbing settings that must agree with each other, and the consumer options they feed."""

import pytest
from pydantic import ValidationError

from shared.messaging import consumer_options, record_size
from shared.settings import ServiceSettings


def test_a_dead_letter_of_the_largest_accepted_message_still_fits_the_producer():
    with pytest.raises(ValidationError, match="max_message_bytes"):
        ServiceSettings(max_message_bytes=1024 * 1024, kafka_max_request_bytes=1024 * 1024)
    assert ServiceSettings().max_message_bytes < ServiceSettings().kafka_max_request_bytes


def test_consumers_do_not_wait_out_aiokafkas_half_second_fetch(monkeypatch):
    assert consumer_options(ServiceSettings(service="profiles"))["fetch_max_wait_ms"] == 20
    monkeypatch.setenv("RECIPROCAL_FETCH_MAX_WAIT_MS", "500")  # a real Kafka answers as soon as data arrives
    assert consumer_options(ServiceSettings(service="profiles"))["fetch_max_wait_ms"] == 500


def test_a_records_size_counts_key_value_and_headers():
    bare = record_size(b"k", b"v" * 100, {})
    assert record_size(b"k", b"v" * 200, {}) == bare + 100
    assert record_size(b"k", b"v" * 100, {"event_id": "x" * 36}) > bare + 36
    assert record_size(b"k", b"v" * 100, [("event_id", b"x" * 36)]) == record_size(
        b"k", b"v" * 100, {"event_id": "x" * 36}
    )
