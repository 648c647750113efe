"""One profile change against a program pool: upsert into the index, rescore, pick the best
partner. Compared with the pairwise Python `best_partner` (the same rules one pair at a time).

    python -m benchmarks.matcher.bench_incremental [--sizes 1000 10000 100000] [--trials 50]
"""

import argparse
import random
from dataclasses import replace

from benchmarks.matcher._common import cohort, median_ms, table, timed
from services.matcher.domain import best_partner
from services.matcher.domain.index import PoolIndex


def run(n: int, trials: int, baseline_trials: int) -> list[object]:
    people, program = cohort(n)
    build, index = timed(lambda: PoolIndex(program, people))
    rng = random.Random(n)
    load = {p.person_id: 1 for p in rng.sample(people, n // 5)}
    samples, found = [], 0
    changed = []
    for _ in range(trials):
        p, donor = rng.choice(people), rng.choice(people)
        p = replace(p, wants=donor.wants, interests=donor.interests)
        changed.append(p)

        def step(p=p):
            index.upsert(p)
            return index.best_partner(p, load=load)

        t, best = timed(step)
        samples.append(t)
        found += best is not None
    pool = {p.person_id: p for p in people} | {p.person_id: p for p in changed}
    base = [timed(lambda p=p: best_partner(p, pool.values(), program, load=load))[0]
            for p in changed[:baseline_trials]]
    ours, theirs = median_ms(samples), median_ms(base)
    return [f"{n:,}", build, ours, theirs, theirs / ours, f"{found}/{trials}"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--trials", type=int, default=50)
    args = parser.parse_args()
    rows = [run(n, args.trials, baseline_trials=max(2, min(20, 200_000 // n))) for n in args.sizes]
    print(table(["pool", "index build s", "median ms (index)", "median ms (pairwise Python)", "speed-up",
                 "partner found"], rows))


if __name__ == "__main__":
    main()
