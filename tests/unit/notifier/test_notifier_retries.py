import random

import pytest

from services.notifier.domain import retry_after_seconds, retry_delay


def delays(attempts: int, samples: int = 200, **settings) -> list[float]:
    return [retry_delay(attempts, **{"backoff_s": 1.0, "max_s": 300.0, **settings}) for _ in range(samples)]


def test_delay_doubles_per_attempt_plus_jitter_up_to_one_backoff():
    random.seed(7)
    for attempts in (1, 2, 3, 6):
        base = 2.0 ** (attempts - 1)
        found = delays(attempts)
        assert all(base <= d <= base + 1.0 for d in found), attempts
        assert max(found) - min(found) > 0.5, "jittered"


def test_delay_never_exceeds_the_cap():
    assert max(delays(9, max_s=30.0)) == 30.0
    assert max(delays(500, max_s=300.0)) <= 300.0


def test_retry_after_replaces_the_backoff_but_stays_under_the_cap():
    assert retry_delay(1, backoff_s=1.0, max_s=300.0, retry_after_s=120.0) == 120.0
    assert retry_delay(5, backoff_s=1.0, max_s=300.0, retry_after_s=0.0) == 0.0
    assert retry_delay(1, backoff_s=1.0, max_s=300.0, retry_after_s=3600.0) == 300.0


@pytest.mark.parametrize(("header", "seconds"), [
    ("120", 120.0), (" 5 ", 5.0), ("0", 0.0), (None, None), ("", None), ("-1", None), ("1.5", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", None), ("１２", None),
])
def test_retry_after_header_seconds_form_only(header, seconds):
    assert retry_after_seconds(header) == seconds
