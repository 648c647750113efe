"""Shared helpers for the matcher benchmarks. Run from the repo root: python -m benchmarks.matcher.<name>."""

import statistics
import time
from collections.abc import Callable

from services.matcher.domain import person_from_profile, program_from_event
from services.matcher.domain.generator import generate_cohort, generate_program


def cohort(n: int, seed: int = 42):
    program = program_from_event(generate_program())
    return [person_from_profile(e) for e in generate_cohort(n, seed)], program


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def table(header: list[str], rows: list[list[object]]) -> str:
    def fmt(x: object) -> str:
        return f"{x:,.2f}" if isinstance(x, float) else str(x)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)
