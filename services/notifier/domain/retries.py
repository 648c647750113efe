"""When to try a failed delivery again, and when to give up."""

import random
from collections.abc import Callable
from dataclasses import dataclass


def retry_delay(
    attempts: int,
    *,
    backoff_s: float,
    max_s: float,
    retry_after_s: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after `attempts` failed tries: backoff_s * 2**(attempts - 1) plus up to backoff_s
    of jitter, never more than max_s. This is tenacity's `wait_exponential_jitter(multiplier=backoff_s,
    max=max_s, jitter=backoff_s)` for attempt number `attempts`, as a function of the attempt count:
    a delivery's tries are spread over processes and hours, so there is no live retry loop to ask.
    A server's Retry-After replaces it, still bounded by max_s."""
    if retry_after_s is not None:
        return min(max(retry_after_s, 0.0), max_s)
    exponent = min(max(attempts, 1) - 1, 64)  # 2**64 s is past any cap, and no float overflows
    return min(backoff_s * 2.0**exponent + backoff_s * rand(), max_s)


@dataclass(frozen=True)
class RetryPolicy:
    """How often a delivery is tried and how long it waits in between."""

    attempts: int = 8
    backoff_s: float = 1.0
    max_s: float = 300.0

    def gives_up_after(self, attempts: int) -> bool:
        return attempts >= self.attempts

    def delay(self, attempts: int, retry_after_s: float | None = None) -> float:
        return retry_delay(attempts, backoff_s=self.backoff_s, max_s=self.max_s, retry_after_s=retry_after_s)


def retry_after_seconds(value: str | None) -> float | None:
    """The delay-seconds form of a Retry-After header; None for an absent, HTTP-date or malformed value."""
    seconds = (value or "").strip()
    return float(seconds) if seconds.isascii() and seconds.isdigit() else None
