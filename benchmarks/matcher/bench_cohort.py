"""Whole-cohort optimisation: score computation + optimisation (fast mode), against rustworkx's blossom
`max_weight_matching` on the same candidate graph (the b-matching reduction of `bmatching`, solved in
one piece: the matching call is the baseline), and exact mode up to `--exact-max` people.

rustworkx on the reduced graph is itself exact, so it gives the optimum at every size; above
`--exact-max` the exact column is skipped (exact mode runs the same blossom, per component).

    python -m benchmarks.matcher.bench_cohort [--sizes 1000 2000 5000 10000] [--repeats 3]
"""

import argparse
import statistics
import time

import numpy as np

from benchmarks.matcher._common import cohort, table, timed
from services.matcher.domain.bmatching import _component
from services.matcher.domain.cohort import SCALE, candidate_graph, solve


def run(n: int, repeats: int, exact_max: int, rx_repeats: int) -> list[object]:
    people, program = cohort(n)
    scoring, solving, totals = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        graph = candidate_graph(people, program)
        t1 = time.perf_counter()
        fast = solve(graph, exact=False)
        t2 = time.perf_counter()
        scoring.append(t1 - t0)
        solving.append(t2 - t1)
        totals.append(t2 - t0)
    weights = np.rint(graph.weights * SCALE).astype(np.int64)
    rx_times = []
    for _ in range(rx_repeats if n <= 2000 else 1):
        t, chosen = timed(lambda: _component(graph.edges, weights, graph.capacity))
        rx_times.append(t)
    optimum = float(graph.weights[chosen].sum())
    exact_cell, exact_ratio = "-", "-"
    if n <= exact_max:
        t_exact, exact = timed(lambda: solve(graph, exact=True))
        exact_cell, exact_ratio = t_exact, f"{exact.objective / optimum:.6f}"
    t_rx, t_total = statistics.median(rx_times), statistics.median(totals)
    return [f"{n:,}", f"{len(graph.edges):,}", statistics.median(scoring), statistics.median(solving), t_total,
            f"{fast.objective / optimum:.6f}", f"{fast.objective / fast.upper_bound:.6f}",
            "yes" if fast.exact else "no", exact_cell, exact_ratio, t_rx, f"{t_rx / t_total:.1f}×",
            f"{fast.coverage:.1%}"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 5000, 10_000])
    parser.add_argument("--repeats", type=int, default=3, help="runs of scoring + fast solve (median)")
    parser.add_argument("--rx-repeats", type=int, default=3, help="rustworkx runs up to 2,000 people (1 above)")
    parser.add_argument("--exact-max", type=int, default=2000)
    args = parser.parse_args()
    header = ["people", "edges", "scoring s", "fast solve s", "fast total s", "fast ÷ optimum", "fast ÷ LP bound",
              "proven optimal", "exact solve s", "exact ÷ optimum", "rustworkx s", "rustworkx ÷ fast total",
              "coverage"]
    rows = []
    for n in args.sizes:
        rows.append(run(n, args.repeats, args.exact_max, args.rx_repeats))
        print(table(header, rows[-1:]).splitlines()[-1], flush=True)
    print(table(header, rows))


if __name__ == "__main__":
    main()
