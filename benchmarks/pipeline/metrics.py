"""Per-service handler and database time from the services' Prometheus `/metrics`, when they expose them.

The histograms `reciprocal_handler_seconds` and `reciprocal_db_seconds` are summed over their labels;
the difference of two scrapes gives the time spent per handled message during a run.
"""

from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

HANDLER = "reciprocal_handler_seconds"
DB = "reciprocal_db_seconds"


@dataclass(frozen=True)
class Totals:
    handler_sum: float = 0.0
    handler_count: float = 0.0
    db_sum: float = 0.0
    exposed: bool = False


def totals_of(text: str) -> Totals:
    sums: dict[str, float] = {}
    exposed = False
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in (f"{HANDLER}_sum", f"{HANDLER}_count", f"{DB}_sum"):
                sums[sample.name] = sums.get(sample.name, 0.0) + sample.value
                exposed = exposed or sample.name.startswith(HANDLER)
    return Totals(sums.get(f"{HANDLER}_sum", 0.0), sums.get(f"{HANDLER}_count", 0.0), sums.get(f"{DB}_sum", 0.0),
                  exposed)


async def scrape(urls: dict[str, str]) -> dict[str, Totals]:
    found = {}
    async with httpx.AsyncClient(timeout=5) as client:
        for name, url in urls.items():
            try:
                found[name] = totals_of((await client.get(f"{url}/metrics")).text)
            except httpx.HTTPError:
                found[name] = Totals()
    return found


@dataclass(frozen=True)
class ServiceTime:
    handler_s: float
    db_s: float
    messages: int


def per_message(before: dict[str, Totals], after: dict[str, Totals]) -> dict[str, ServiceTime] | None:
    """Mean handler and database time per handled message, per service; None when the histograms are absent."""
    if not all(after[name].exposed for name in after):
        return None
    result = {}
    for name, end in after.items():
        start = before.get(name, Totals())
        count = end.handler_count - start.handler_count
        if count <= 0:
            result[name] = ServiceTime(0.0, 0.0, 0)
            continue
        result[name] = ServiceTime((end.handler_sum - start.handler_sum) / count, (end.db_sum - start.db_sum) / count,
                                   int(count))
    return result
