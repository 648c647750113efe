import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.notifier.domain import decode_cursor, encode_cursor

AT = datetime(2027, 1, 12, 14, 30, 0, 123000, tzinfo=UTC)


def test_cursor_round_trips_time_and_entry_and_is_url_safe():
    token = encode_cursor(AT, "5e2f78ae-e9a1-50a0-bf1a-40f148e50e4d")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert decode_cursor(token) == (AT, "5e2f78ae-e9a1-50a0-bf1a-40f148e50e4d")


def test_cursor_is_the_same_for_the_same_instant_in_any_zone():
    assert encode_cursor(AT.astimezone(timezone(timedelta(hours=5))), "e") == encode_cursor(AT, "e")


@pytest.mark.parametrize(
    "old", ["2027-01-12T14:30:00.123000+00:00", "2027-01-12T14:30:00.123Z", "2027-01-12T14:30:00.123"]
)
def test_a_bare_timestamp_from_older_clients_still_works(old):
    assert decode_cursor(old) == (AT, None)


@pytest.mark.parametrize("bad", ["nonsense", "WzEsMl0", "e30"])
def test_anything_else_is_refused(bad):
    with pytest.raises(ValueError):
        decode_cursor(bad)
