"""Whole-cohort optimisation against rustworkx's blossom `max_weight_matching`.

Headline (capacity 1): every generated person gets max_partners = 1, so the b-matching is a plain
matching and rustworkx's `max_weight_matching` on the candidate graph solves exactly the same
problem. Both sides are timed from the profiles: score computation (`candidate_graph`, shared
code) + optimisation. Ours is `solve` in its default mode (exact blossom per component up to
2,000 participants, fast LP rounding above) and includes building the report (explanations of
every pair); the baseline is building a rustworkx graph from the same edges (integer-scaled
weights) + `max_weight_matching`. rustworkx is exact, so its objective is the optimum.

Secondary (capacities 1-3, as generated): rustworkx cannot solve b-matching directly, so the
baseline is `max_weight_matching` on the b-matching reduction of `bmatching` (node copies and edge
gadgets), in one piece; the reduction's graph is bigger than the candidate graph, so this is NOT a
same-graph comparison.

Before / after (`--against <commit>`): the domain package at that commit is loaded beside the
current one (`_before.py`, from git, for this run only); each repeat times both on the same
people, alternating which goes first, and both must build the same candidate graph (same edges,
same weights) and reach the same objective.

    python -m benchmarks.matcher.bench_cohort [--sizes 1000 2000 5000 10000] [--secondary 1000 2000 5000]
        [--against COMMIT]
"""

import argparse
import statistics
import time
from dataclasses import replace

import numpy as np
import rustworkx as rx

from benchmarks.matcher import _before
from benchmarks.matcher._common import cohort, table, timed
from services.matcher.domain import cohort as current
from services.matcher.domain.bmatching import _component
from services.matcher.domain.cohort import SCALE


def _run(module, people, program, exact):
    t0 = time.perf_counter()
    graph = module.candidate_graph(people, program)
    t1 = time.perf_counter()
    result = module.solve(graph, exact=exact)
    return graph, result, t1 - t0, time.perf_counter() - t1


def ours(people, program, repeats: int, exact: bool | None = None):
    scoring, solving, result, graph = [], [], None, None
    for _ in range(repeats):
        graph, result, t_score, t_solve = _run(current, people, program, exact)
        scoring.append(t_score)
        solving.append(t_solve)
    return graph, result, statistics.median(scoring), statistics.median(solving)


def before_after(n: int, repeats: int, before, optimum: bool = True) -> list[object]:
    """Capacity 1, default mode: the commit `before` and this one on the same people, alternating."""
    people, program = cohort(n)
    people = [replace(p, max_partners=1) for p in people]
    old_people = [_before.convert(p, before.Person) for p in people]
    old_program = _before.convert(program, before.Program)
    totals: dict[str, list[float]] = {"before": [], "after": []}
    scoring: dict[str, list[float]] = {"before": [], "after": []}
    got = {}
    for rep in range(repeats):
        sides = [("after", current, people, program), ("before", before.cohort, old_people, old_program)]
        for name, module, who, prog in sides if rep % 2 == 0 else sides[::-1]:
            graph, result, t_score, t_solve = _run(module, who, prog, None)
            totals[name].append(t_score + t_solve)
            scoring[name].append(t_score)
            got[name] = (graph, result)
    (g_new, r_new), (g_old, r_old) = got["after"], got["before"]
    same_graph = np.array_equal(g_new.edges, g_old.edges) and np.array_equal(g_new.weights, g_old.weights)
    t_rx, best = rustworkx_matching(g_new) if optimum else (float("nan"), float("nan"))
    old_total, new_total = statistics.median(totals["before"]), statistics.median(totals["after"])
    return [f"{n:,}", f"{len(g_new.edges):,}", r_new.mode, statistics.median(scoring["before"]),
            statistics.median(scoring["after"]), old_total, new_total, f"{new_total / old_total:.2f}",
            f"{r_old.objective / best:.6f}", f"{r_new.objective / best:.6f}", t_rx,
            "yes" if same_graph and r_new.objective == r_old.objective else "NO"]


def rustworkx_matching(graph) -> tuple[float, float]:
    """(seconds, objective): build the rustworkx graph from the candidate edges and match."""
    def run():
        g = rx.PyGraph()
        g.add_nodes_from(range(len(graph.capacity)))
        scaled = np.rint(graph.weights * SCALE).astype(np.int64)
        g.add_edges_from(list(zip(graph.edges[:, 0].tolist(), graph.edges[:, 1].tolist(), scaled.tolist(),
                                  strict=True)))
        return rx.max_weight_matching(g, weight_fn=lambda w: w)

    t, matching = timed(run)
    where = {(i, j): e for e, (i, j) in enumerate(graph.edges.tolist())}
    return t, float(sum(graph.weights[where[(min(a, b), max(a, b))]] for a, b in matching))


def headline(n: int, repeats: int) -> list[object]:
    people, program = cohort(n)
    people = [replace(p, max_partners=1) for p in people]
    graph, result, t_score, t_solve = ours(people, program, repeats)
    t_rx, optimum = rustworkx_matching(graph)
    t_ours, t_base = t_score + t_solve, t_score + t_rx
    return [f"{n:,}", f"{len(graph.edges):,}", result.mode, t_score, t_solve, t_ours, t_rx, t_base,
            f"{t_base / t_ours:.1f}×", f"{result.objective / optimum:.6f}",
            "-" if result.upper_bound is None else f"{result.objective / result.upper_bound:.6f}",
            f"{result.coverage:.1%}"]


def secondary(n: int, repeats: int) -> list[object]:
    people, program = cohort(n)
    graph, result, t_score, t_solve = ours(people, program, repeats, exact=False)
    weights = np.rint(graph.weights * SCALE).astype(np.int64)
    t_rx, chosen = timed(lambda: _component(graph.edges, weights, graph.capacity))
    optimum = float(graph.weights[chosen].sum())
    t_ours, t_base = t_score + t_solve, t_score + t_rx
    return [f"{n:,}", f"{len(graph.edges):,}", t_ours, t_base, f"{t_base / t_ours:.1f}×",
            f"{result.objective / optimum:.6f}", "yes" if result.exact else "no"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 2000, 5000, 10_000])
    parser.add_argument("--secondary", type=int, nargs="*", default=None,
                        help="sizes for the capacity 1-3 table against the reduction (default: --sizes up to "
                             "5,000; the reduction at 10,000 takes minutes)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of scoring + our solve (median)")
    parser.add_argument("--no-optimum", action="store_true", help="with --against: skip rustworkx (both sides "
                        "must build the same graph and objective anyway)")
    parser.add_argument("--against", default=None, help="a commit whose matcher domain runs beside this one "
                        "(then only the before/after table, capacity 1, at --sizes)")
    args = parser.parse_args()
    if args.against:
        before = _before.load(args.against)
        head = ["people", "edges", "mode", f"scoring s before ({_before.resolve(args.against)})", "scoring s after",
                "total s before", "total s after", "after ÷ before", "objective ÷ optimum before",
                "objective ÷ optimum after", "rustworkx matching s", "same graph and objective"]
        rows = []
        for n in args.sizes:
            rows.append(before_after(n, args.repeats, before, optimum=not args.no_optimum))
            print(table(head, rows[-1:]).splitlines()[-1], flush=True)
        print(table(head, rows))
        return
    head = ["people", "edges", "our mode", "scoring s", "our solve s", "ours total s", "rustworkx matching s",
            "rustworkx total s", "rustworkx total ÷ ours", "our objective ÷ optimum", "ours ÷ LP bound", "coverage"]
    rows = []
    print("capacity 1, same candidate graph (both totals include scoring)", flush=True)
    for n in args.sizes:
        rows.append(headline(n, args.repeats))
        print(table(head, rows[-1:]).splitlines()[-1], flush=True)
    print(table(head, rows))
    head2 = ["people", "edges", "ours (scoring + fast) s", "rustworkx on the reduction (scoring + matching) s",
             "ratio", "fast ÷ optimum", "proven optimal"]
    rows2 = []
    print("capacities 1-3, rustworkx on the b-matching reduction (a bigger graph)", flush=True)
    for n in args.secondary if args.secondary is not None else [n for n in args.sizes if n <= 5000]:
        rows2.append(secondary(n, args.repeats))
        print(table(head2, rows2[-1:]).splitlines()[-1], flush=True)
    print(table(head2, rows2))


if __name__ == "__main__":
    main()
