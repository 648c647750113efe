"""A stream of profile changes against a program pool: each change is applied to the index
(`PoolIndex.upsert`, in place) and immediately followed by a best-partner query for the changed
person (rescore against the whole pool, hard rules, capacity, pairing history). Timed per change:
upsert + query, inside the matcher's domain code. The stream runs long enough (default 2,000
changes) to cover any periodic maintenance: the index has none (no rebuild; every change is
written into its arrays in place), so the amortised rebuild cost is zero and the tail (p95, max)
is what a steady state costs.

Changes are what people do: new wants, offers, interests, languages, availability and time zone,
meeting modes and site, department, capacity; some people leave (`remove`) and new people join.
20 % of the pool is at capacity (`load`), and 0.5 % of people have a declined or expired pair.

Baseline: the pairwise Python `proposals.best_partner` (every rule and score one pair at a time)
on a sample of the changed people, against the final pool, also used to check that the index
picks the same partner.

    python -m benchmarks.matcher.bench_incremental [--sizes 1000 10000 100000] [--changes 2000]
"""

import argparse
import random
import time
from dataclasses import replace

from benchmarks.matcher._common import cohort, median_ms, table, timed
from services.matcher.domain import best_partner
from services.matcher.domain.index import PoolIndex

WARM_UP = 50  # changes


def change(rng: random.Random, p, donor):
    kind = rng.randrange(8)
    if kind == 0:
        return replace(p, wants=donor.wants, interests=donor.interests)
    if kind == 1:
        return replace(p, offers=donor.offers)
    if kind == 2:
        return replace(p, timezone=donor.timezone, availability=donor.availability)
    if kind == 3:
        return replace(p, languages=donor.languages, interests=donor.interests)
    if kind == 4:
        return replace(p, meeting_modes=donor.meeting_modes, site=donor.site)
    if kind == 5:
        return replace(p, department=donor.department, career_stage=donor.career_stage)
    if kind == 6:
        return replace(p, max_partners=rng.choice((1, 1, 2, 3)))
    return replace(p, wants=donor.wants, offers=donor.offers, availability=donor.availability, timezone=donor.timezone)


def run(n: int, changes: int, baseline_trials: int) -> list[object]:
    people, program = cohort(n)
    extra, _ = cohort(changes // 20 + 1, seed=7)  # people who join during the stream
    build, index = timed(lambda: PoolIndex(program, people))
    rng = random.Random(n)
    pool = {p.person_id: p for p in people}
    load = {p.person_id: 1 for p in rng.sample(people, n // 5)}
    blocked = {frozenset((a.person_id, b.person_id)) for a, b in zip(rng.sample(people, n // 200 + 1),
                                                                      rng.sample(people, n // 200 + 1), strict=True)}
    total, upserts, found, queried = [], [], 0, []
    joiners = [replace(p, person_id=f"new{i:06d}") for i, p in enumerate(extra)]
    for step in range(changes):
        if step % 50 == 25 and len(pool) > 10:  # someone leaves the program
            gone = rng.choice(list(pool))
            t, _ = timed(lambda g=gone: index.remove(g))
            del pool[gone]
            continue
        if step % 20 == 10 and joiners:
            p = joiners.pop()
        else:
            p = change(rng, pool[rng.choice(list(pool))], rng.choice(people))
        pool[p.person_id] = p
        t0 = time.perf_counter()
        index.upsert(p)
        t1 = time.perf_counter()
        best = index.best_partner(p, load=load, blocked_pairs=blocked)
        t2 = time.perf_counter()
        upserts.append(t1 - t0)
        total.append(t2 - t0)
        found += best is not None
        queried.append(p.person_id)
    sample = rng.sample(sorted(set(queried)), min(baseline_trials, len(set(queried))))
    base, agree = [], 0
    for pid in sample:
        p = pool.get(pid)
        if p is None:
            continue
        t, expected = timed(lambda p=p: best_partner(p, pool.values(), program, load=load, blocked_pairs=blocked))
        base.append(t)
        got = index.best_partner(p, load=load, blocked_pairs=blocked)
        agree += (got is None and expected is None) or (got is not None and expected is not None
                                                        and got.pair == expected.pair)
    ours, theirs = median_ms(total), median_ms(base)
    ordered = sorted(total)

    def pct(q: float) -> float:
        return ordered[int(q * (len(ordered) - 1))] * 1000

    warm = max(total[WARM_UP:]) * 1000  # after the first queries, which fill the availability caches
    return [f"{n:,}", build, len(total), ours, pct(0.95), pct(0.99), warm, ordered[-1] * 1000, median_ms(upserts),
            0.0, theirs, f"{theirs / ours:.0f}×", f"{found}/{len(total)}", f"{agree}/{len(base)}"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--changes", type=int, default=2000)
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        rows.append(run(n, args.changes, baseline_trials=max(3, min(30, 300_000 // n))))
        print(rows[-1], flush=True)
    print(table(["pool", "index build s", "changes timed", "median ms (upsert + query)", "p95 ms", "p99 ms",
                 f"max ms after {WARM_UP}", "max ms (cold first queries)", "median upsert ms", "amortised rebuild ms",
                 "median ms (pairwise Python)", "speed-up",
                 "partner found", "same partner as pairwise"], rows))


if __name__ == "__main__":
    main()
