"""Matching quality on the running stack: the pairs people actually receive, against the offline optimum.

For seeded generated cohorts (`services/matcher/domain/generator.py`), each in three arrival orders
(as generated, reversed, shuffled), the profiles go through the embedded stack (`profiles.changed`,
all at once in that order) in a new org per run, in these modes:
- **cohort**: `matching: cohort` with `approval_required`; the admin previews over HTTP once the
  preview holds everyone, and approves it;
- **continuous**: `matching: continuous` with a `batch_window` long enough to take the import;
- **one by one** (`batch_window: 0`, how the stack matched before batch windows), as generated only:
  the baseline of the same process.

For each run it reports the live pairs' total score as a share of the optimum (`optimise` on the
same profiles, exact up to 2,000, independent of arrival order), the people matched against the
optimum's, the number of batches, the seconds from the first profile sent to the last proposal, and
it checks every hard rule (eligibility and capacity) on every live pair.

Run: `python -m benchmarks.matcher.bench_live_quality [--sizes 60 500 2000] [--window S] [--modes ...]
[--orders ...]`.
"""

import argparse
import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from benchmarks.matcher._common import table
from reciprocal.embedded import EmbeddedStack
from reciprocal.wire import Frontend, Tap
from services.matcher.domain import ineligibility, optimise, person_from_profile, program_from_event
from services.matcher.domain.generator import generate_cohort, generate_program
from shared.contract import ProfileChanged

SEED = 42
PROGRAM_ID = "quality"


@dataclass
class Run:
    size: int
    mode: str
    order: str
    share: float
    matched: int
    optimum_matched: int
    batches: int
    seconds: float
    violations: int


def orders(n: int) -> dict[str, list[int]]:
    shuffled = list(range(n))
    random.Random(7).shuffle(shuffled)
    return {"as generated": list(range(n)), "reversed": list(reversed(range(n))), "shuffled": shuffled}


def violations(pairs: list[dict[str, Any]], people: dict[str, Any], program: Any, now: datetime) -> int:
    """Pairs that break a hard rule on their own, plus people over their capacity."""
    bad = sum(1 for p in pairs if ineligibility(people[p["person_a"]], people[p["person_b"]], program, now=now))
    load = Counter(pid for p in pairs for pid in (p["person_a"], p["person_b"]))
    return bad + sum(1 for pid, k in load.items() if k > people[pid].max_partners)


def batches(pairs: list[dict[str, Any]]) -> int:
    """Optimiser runs that proposed these pairs (each run correlates its proposals)."""
    return len({p.get("correlation_id") for p in pairs})


async def admin(web: httpx.AsyncClient, stack: EmbeddedStack, org: str, path: str) -> dict[str, Any]:
    response = await web.post(f"{stack.service_url('matcher')}{path}",
                              headers={"Authorization": f"Bearer {stack.token(org, 'admin')}"})
    response.raise_for_status()
    return dict(response.json())


async def admin_get(web: httpx.AsyncClient, stack: EmbeddedStack, org: str, path: str) -> dict[str, Any]:
    response = await web.get(f"{stack.service_url('matcher')}{path}",
                             headers={"Authorization": f"Bearer {stack.token(org, 'admin')}"})
    response.raise_for_status()
    return dict(response.json())


async def until_pool(web: httpx.AsyncClient, stack: EmbeddedStack, org: str,
                     condition: Callable[[dict[str, Any]], bool], timeout: float) -> None:
    """Poll the matcher's `GET /programs/{id}/pool` until `condition` holds."""
    deadline = time.monotonic() + timeout
    while not condition(pool := await admin_get(web, stack, org, f"/programs/{PROGRAM_ID}/pool")):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the matcher's pool of {org} is still {pool} after {timeout:.0f} s")
        await asyncio.sleep(0.5)


async def preview_of_everyone(web: httpx.AsyncClient, stack: EmbeddedStack, org: str, n: int) -> dict[str, Any]:
    """Once the matcher holds all n profiles (registration has closed), the admin's preview."""
    await until_pool(web, stack, org, lambda pool: pool["people"] >= n, timeout=600)
    return await admin(web, stack, org, f"/programs/{PROGRAM_ID}/cohort-previews")


async def one_run(stack: EmbeddedStack, fe: Frontend, tap: Tap, web: httpx.AsyncClient, n: int, mode: str,
                  order_name: str, order: list[int], window_s: float) -> Run:
    org = f"q{uuid.uuid4().hex[:8]}"
    config: dict[str, Any] = {"matching": "cohort", "approval_required": True} if mode == "cohort" else {
        "batch_window": window_s if mode == "continuous" else 0}
    event = generate_program(PROGRAM_ID, org, **config)
    program = program_from_event(event)
    cohort = generate_cohort(n, SEED, org_id=org, program_id=PROGRAM_ID)
    await fe.publish("programs.configured", event.model_dump(mode="json"))
    await asyncio.sleep(0.5)
    started = time.monotonic()
    for i in order:
        await fe.publish("profiles.changed", cohort[i].model_dump(mode="json"))
    expected: set[str] = set()
    if mode == "cohort":
        preview = await preview_of_everyone(web, stack, org, n)
        approved = await admin(web, stack, org,
                               f"/programs/{PROGRAM_ID}/cohort-previews/{preview['preview_id']}/approve")
        expected = set(approved["match_ids"])

    def seen(t: Tap) -> set[str]:
        return {e["match_id"] for e in t.events("matches.proposed") if e["org_id"] == org}

    if mode == "continuous":  # the matcher holds everyone and no batch is pending: the last one has run
        await until_pool(web, stack, org, lambda pool: pool["people"] >= n and pool["next_batch_at"] is None,
                         timeout=window_s + 900)
        report = await admin_get(web, stack, org, f"/programs/{PROGRAM_ID}/cohort-report")
        expected = set(report["match_ids"])
    await tap.wait_for(lambda t: bool(seen(t)) and expected <= seen(t), timeout=window_s + 900,
                       what=f"proposals of {org}")
    await tap.settle("matches.proposed", quiet=3.0 if mode != "one by one" else 10.0, timeout=900)
    live = [e for e in tap.events("matches.proposed") if e["org_id"] == org]
    last = max(datetime.fromisoformat(e["occurred_at"]) for e in live)
    seconds = time.monotonic() - started - (datetime.now(UTC) - last).total_seconds()
    people = {p.person_id: person_from_profile(ProfileChanged.model_validate(p.model_dump())) for p in cohort}
    at = min(datetime.fromisoformat(e["occurred_at"]) for e in live)
    best = optimise(people.values(), program, now=at)
    matched = len({pid for e in live for pid in (e["person_a"], e["person_b"])})
    return Run(n, mode, order_name, sum(e["score"] for e in live) / best.objective, matched, best.matched,
               batches(live), seconds, violations(live, people, program, at))


MODES = ("cohort", "continuous", "one by one")


async def measure(stack: EmbeddedStack, sizes: list[int], window_s: float | None, modes: list[str],
                  order_names: list[str]) -> list[Run]:
    runs = []
    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["matches.proposed"]) as tap, \
            httpx.AsyncClient(timeout=300) as web:
        for n in sizes:
            for order_name, order in orders(n).items():
                for mode in modes:
                    if order_name not in order_names or (mode == "one by one" and order_name != "as generated"):
                        continue  # one by one, the baseline: as generated only
                    window = min(180.0, max(30.0, n / 10)) if window_s is None else window_s
                    runs.append(await one_run(stack, fe, tap, web, n, mode, order_name, order,
                                              0 if mode == "one by one" else window))
                    print(runs[-1], flush=True)
    return runs


def report(runs: list[Run]) -> str:
    return table(["people", "mode", "arrival order", "share of the optimum", "matched", "optimum matched",
                  "batches", "first sent -> last proposal (s)", "hard-rule violations"],
                 [[r.size, r.mode, r.order, f"{r.share:.2%}", r.matched, r.optimum_matched,
                   "-" if r.mode == "one by one" else r.batches,
                   round(r.seconds, 1), r.violations] for r in runs])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[60, 500, 2000])
    parser.add_argument("--window", type=float, default=None,
                        help="continuous mode's batch_window, seconds (default: people / 10 within 30-180, the "
                        "product's default 180 for 1,800 people and more, so that the import lands in one window)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--orders", nargs="+", choices=list(orders(1)), default=list(orders(1)))
    args = parser.parse_args()
    stack = EmbeddedStack()
    ok = False
    try:
        stack.start()
        runs = asyncio.run(measure(stack, args.sizes, args.window, args.modes, args.orders))
        print("\nLive pairs against the offline optimum (the embedded stack, profiles.changed published at once):\n")
        print(report(runs))
        ok = True
    finally:
        stack.stop(keep_workdir=not ok)


if __name__ == "__main__":
    main()
