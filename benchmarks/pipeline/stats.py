"""Percentiles with the missing counted as infinitely late, backlog growth, and the sustained-rate verdict."""

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile; `inf` entries (never arrived) sort last, so a p99 over >1% missing is `inf`."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def slope(samples: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (time, value) samples, in value per second; 0 with fewer than two samples."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    return 0.0 if var == 0 else sum((t - mean_t) * (v - mean_v) for t, v in samples) / var


def backlog_growth(samples: Sequence[tuple[float, float]], start: float, end: float) -> float:
    """How fast the backlog grows over the second half of the offered window (profiles/s)."""
    middle = (start + end) / 2
    return slope([(t, v) for t, v in samples if middle <= t <= end])


def sustained(*, rate: float, missing: int, p99: float, growth: float, p99_bound: float,
              growth_share: float = 0.1) -> bool:
    """Held: everything arrived, p99 within its bound, and the backlog grows by less than a tenth of the offer."""
    return missing == 0 and p99 <= p99_bound and growth <= growth_share * rate
