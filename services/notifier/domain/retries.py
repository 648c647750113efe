"""When to try a failed delivery again."""

from tenacity import RetryCallState, wait_exponential_jitter


def retry_delay(attempts: int, *, backoff_s: float, max_s: float, retry_after_s: float | None = None) -> float:
    """Seconds to wait after `attempts` failed tries: backoff_s * 2**(attempts - 1) plus up to backoff_s
    of jitter, never more than max_s. A server's Retry-After replaces it, still bounded by max_s."""
    if retry_after_s is not None:
        return min(max(retry_after_s, 0.0), max_s)
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = max(attempts, 1)
    return wait_exponential_jitter(multiplier=backoff_s, max=max_s, jitter=backoff_s)(state)


def retry_after_seconds(value: str | None) -> float | None:
    """The delay-seconds form of a Retry-After header; None for an absent, HTTP-date or malformed value."""
    seconds = (value or "").strip()
    return float(seconds) if seconds.isascii() and seconds.isdigit() else None
