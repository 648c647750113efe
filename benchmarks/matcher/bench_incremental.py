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

Before / after (`--against <commit>`): the domain package at that
commit is loaded beside the current one (`_before.py`, from git, for this run only) and fed the
same stream; every change goes to both indexes, in alternating order, each timed on its own, and
both must pick the same partner for every query.

    python -m benchmarks.matcher.bench_incremental [--sizes 1000 10000 100000] [--changes 2000]
        [--against COMMIT]
"""

import argparse
import random
import time
from dataclasses import replace

from benchmarks.matcher import _before
from benchmarks.matcher._common import cohort, median_ms, table, timed
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


class Side:
    """One implementation's index and its timings."""

    def __init__(self, index_cls, program, people, convert) -> None:
        self.convert = convert
        self.build, self.index = timed(lambda: index_cls(program, [convert(p) for p in people]))
        self.total: list[float] = []
        self.upserts: list[float] = []
        self.found = 0

    def step(self, p, load, blocked):
        p = self.convert(p)
        t0 = time.perf_counter()
        self.index.upsert(p)
        t1 = time.perf_counter()
        best = self.index.best_partner(p, load=load, blocked_pairs=blocked)
        t2 = time.perf_counter()
        self.upserts.append(t1 - t0)
        self.total.append(t2 - t0)
        self.found += best is not None
        return best

    def stats(self) -> list[float]:
        ordered = sorted(self.total)

        def pct(q: float) -> float:
            return ordered[int(q * (len(ordered) - 1))] * 1000

        return [median_ms(self.total), pct(0.95), pct(0.99), max(self.total[WARM_UP:]) * 1000, ordered[-1] * 1000,
                median_ms(self.upserts)]


def run(n: int, changes: int, before) -> list[object]:
    people, program = cohort(n)
    extra, _ = cohort(changes // 20 + 1, seed=7)  # people who join during the stream
    sides = [Side(PoolIndex, program, people, lambda p: p)]
    if before is not None:
        old_program = _before.convert(program, before.Program)
        sides.append(Side(before.PoolIndex, old_program, people, lambda p: _before.convert(p, before.Person)))
    rng = random.Random(n)
    pool = {p.person_id: p for p in people}
    load = {p.person_id: 1 for p in rng.sample(people, n // 5)}
    blocked = {frozenset((a.person_id, b.person_id)) for a, b in zip(rng.sample(people, n // 200 + 1),
                                                                      rng.sample(people, n // 200 + 1), strict=True)}
    joiners = [replace(p, person_id=f"new{i:06d}") for i, p in enumerate(extra)]
    agree = queries = 0
    for step in range(changes):
        if step % 50 == 25 and len(pool) > 10:  # someone leaves the program
            gone = rng.choice(list(pool))
            for side in sides:
                side.index.remove(gone)
            del pool[gone]
            continue
        if step % 20 == 10 and joiners:
            p = joiners.pop()
        else:
            p = change(rng, pool[rng.choice(list(pool))], rng.choice(people))
        pool[p.person_id] = p
        order = sides if step % 2 == 0 else sides[::-1]  # alternate who runs first
        got = {id(side): side.step(p, load, blocked) for side in order}
        best = [got[id(side)] for side in sides]
        queries += 1
        agree += all((b is None) == (best[0] is None) and (b is None or b.pair == best[0].pair) for b in best)
    after = sides[0].stats()
    row = [f"{n:,}", sides[0].build, len(sides[0].total)]
    if before is None:
        return [*row, *after, f"{sides[0].found}/{queries}"]
    old = sides[1].stats()
    return [*row[:2], sides[1].build, row[2], old[0], after[0], f"{after[0] / old[0]:.2f}", old[1], after[1], old[2],
            after[2], old[3], after[3], old[5], after[5], f"{sides[0].found}/{queries}", f"{agree}/{queries}"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--changes", type=int, default=2000)
    parser.add_argument("--against", default=None, help="a commit whose matcher domain runs beside this one")
    args = parser.parse_args()
    before = _before.load(args.against) if args.against else None
    rows = []
    for n in args.sizes:
        rows.append(run(n, args.changes, before))
        print(rows[-1], flush=True)
    if before is None:
        print(table(["pool", "index build s", "changes timed", "median ms (upsert + query)", "p95 ms", "p99 ms",
                     f"max ms after {WARM_UP}", "max ms (cold first queries)", "median upsert ms", "partner found"],
                    rows))
        return
    at = _before.resolve(args.against)
    print(table(["pool", "build s after", f"build s before ({at})", "changes timed", "median ms before",
                 "median ms after", "after ÷ before", "p95 before", "p95 after", "p99 before", "p99 after",
                 f"max after {WARM_UP} before", f"max after {WARM_UP} after", "upsert ms before", "upsert ms after",
                 "partner found", "same partner before/after"], rows))


if __name__ == "__main__":
    main()
