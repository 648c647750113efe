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


def test_the_delay_is_tenacitys_exponential_jitter_for_that_attempt():
    """The same waits tenacity's own retry loop takes with wait_exponential_jitter, draw for draw."""
    from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

    waited: list[float] = []
    retrying = Retrying(wait=wait_exponential_jitter(multiplier=2.0, max=100.0, jitter=2.0), sleep=waited.append,
                        stop=stop_after_attempt(9), retry=retry_if_exception_type(OSError), reraise=True)

    def down() -> None:
        raise OSError("down")

    random.seed(11)
    with pytest.raises(OSError):
        retrying(down)
    random.seed(11)
    ours = [retry_delay(attempts, backoff_s=2.0, max_s=100.0) for attempts in range(1, 9)]
    assert ours == pytest.approx(waited)
    assert waited[-1] == 100.0
