"""The operator tools' pure parts: reading dead letters, choosing and marking replays, preparing published lines."""

import json
import uuid

import pytest
from aiokafka.structs import ConsumerRecord

from reciprocal.operations import (
    OperationError,
    contract_error,
    dead_letter_of,
    dlq_of,
    prepare_line,
    read_fixed,
    replay_headers,
    select,
    with_event_id,
)


def record(value: bytes, headers: dict[str, str], offset: int = 7, key: bytes | None = b"p1") -> ConsumerRecord:
    return ConsumerRecord("profiles.submitted.dlq", 2, offset, 0, 0, key, value, None, len(key or b""), len(value),
                          tuple((k, v.encode()) for k, v in headers.items()))


DLQ_HEADERS = {"content-type": "application/json", "dlq-error-type": "schema_invalid",
               "dlq-error-message": "max_partners: bad", "dlq-consumer-group": "reciprocal-profiles",
               "dlq-attempts": "1", "dlq-original-topic": "profiles.submitted",
               "dlq-original-partition": "0", "dlq-original-offset": "41"}


def test_a_dead_letter_reads_its_reasons_and_event_id_from_the_body_when_headers_lack_it():
    letter = dead_letter_of(record(b'{"event_id": "e1"}', DLQ_HEADERS))
    assert (letter.event_id, letter.error_type, letter.attempts) == ("e1", "schema_invalid", 1)
    assert letter.original_offset == 41
    assert letter.position == "2:7" and letter.key == "p1"
    not_json = dead_letter_of(record(b"\x00garbage", {**DLQ_HEADERS, "dlq-error-type": "not_json"}))
    assert not_json.event_id_from_position and not_json.original_topic == "profiles.submitted"
    again = dead_letter_of(record(b"\x00garbage", DLQ_HEADERS))
    assert again.event_id == not_json.event_id != dead_letter_of(record(b"x", DLQ_HEADERS, offset=8)).event_id
    assert not letter.event_id_from_position


def test_a_replayed_value_without_an_event_id_gets_the_dead_letters_one():
    assert json.loads(with_event_id(b'{"org_id": "a"}', "e7")) == {"event_id": "e7", "org_id": "a"}
    assert with_event_id(b'{"event_id": "e1"}', "e7") == b'{"event_id": "e1"}'
    assert with_event_id(b"junk", "e7") == b"junk"


def test_either_topic_or_its_dlq_names_the_dlq_and_unknown_topics_are_refused():
    assert dlq_of("profiles.submitted") == dlq_of("profiles.submitted.dlq") == "profiles.submitted.dlq"
    with pytest.raises(OperationError, match="unknown topic"):
        dlq_of("nope")


def test_replays_are_chosen_once_per_event_id_by_id_or_position():
    twice = [dead_letter_of(record(b'{"event_id": "e1"}', DLQ_HEADERS, offset=o)) for o in (1, 2)]
    other = dead_letter_of(record(b"junk", DLQ_HEADERS, offset=3))
    chosen, missing = select([*twice, other], ["e1", "2:3", "e9"], everything=False)
    assert [d.position for d in chosen] == ["2:1", "2:3"] and missing == ["e9"]
    assert select([*twice, other], [other.event_id], everything=False)[0] == [other]
    assert len(select([*twice, other], [], everything=True)[0]) == 2


def test_a_replay_drops_the_dead_letter_headers_and_says_where_it_came_from():
    headers = dict(replay_headers(dead_letter_of(record(b"{}", {**DLQ_HEADERS, "event_id": "e1"}))))
    anonymous = dead_letter_of(record(b"{}", DLQ_HEADERS))
    assert dict(replay_headers(anonymous))["event_id"] == anonymous.event_id.encode()
    assert headers == {"content-type": b"application/json", "event_id": b"e1", "reciprocal-replay": b"true",
                       "reciprocal-replayed-from": b"profiles.submitted.dlq:2:7"}


def test_a_published_line_gets_its_envelope_stamped_and_is_checked_against_the_contract():
    event = prepare_line("profiles.withdrawn", json.dumps({"org_id": "acme", "person_id": "p1"}))
    assert uuid.UUID(event["event_id"]) and event["event_type"] == "profiles.withdrawn" and event["occurred_at"]
    own_id = str(uuid.uuid4())
    kept = prepare_line("profiles.withdrawn", json.dumps({"org_id": "acme", "person_id": "p1", "event_id": own_id}))
    assert kept["event_id"] == own_id and contract_error("profiles.withdrawn", json.dumps(kept).encode()) is None
    assert "event_id" in contract_error("profiles.withdrawn", json.dumps({**kept, "event_id": "x"}).encode())
    with pytest.raises(OperationError, match="person_id"):
        prepare_line("profiles.withdrawn", json.dumps({"org_id": "acme"}))
    with pytest.raises(OperationError, match="event_type"):
        prepare_line("profiles.withdrawn", json.dumps({"org_id": "a", "person_id": "p", "event_type": "other"}))
    with pytest.raises(OperationError, match="not a JSON object"):
        prepare_line("profiles.withdrawn", "[1]")


def test_fixed_lines_are_matched_by_event_id(tmp_path):
    path = tmp_path / "fixed.jsonl"
    path.write_text('{"event_id": "e1", "org_id": "a"}\n\n')
    assert read_fixed(path) == {"e1": b'{"event_id": "e1", "org_id": "a"}'}
    path.write_text('{"org_id": "a"}\n')
    with pytest.raises(OperationError, match=":1: not a JSON object with an event_id"):
        read_fixed(path)
