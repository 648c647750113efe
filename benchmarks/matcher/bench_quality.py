"""Matching quality: the pairs people receive under each mode, as a share of the optimum.

For generated cohorts (the generator's departments, career stages, skills and capacities) it compares
- **one by one** (continuous mode): people arrive in an order and each takes the best partner still
  free among those already there, on the same candidate graph (scores and hard rules of the kernel);
  once as listed and as the median of shuffled orders;
- **cohort mode** (`matching: cohort`): the optimiser over everyone at the close (exact blossom up to
  2,000 people), with `objective: quality` and with `objective: coverage`;
- the baseline: rustworkx's exact `max_weight_matching` on the same graph, with capacity 1 for
  everyone (rustworkx has no b-matching), against our solver with the same capacities.

Run: `python -m benchmarks.matcher.bench_quality [--sizes 62 500 1000] [--orders 5]`.
"""

import argparse
import random
import statistics
from dataclasses import replace

import numpy as np
import rustworkx as rx

from benchmarks.matcher._common import cohort, table, timed
from services.matcher.domain import Person, Program
from services.matcher.domain.bmatching import max_weight_bmatching
from services.matcher.domain.cohort import CandidateGraph, candidate_graph, optimise, solve, solver_weights


def one_by_one(graph: CandidateGraph, order: list[int]) -> tuple[float, int]:
    """(total score, people matched) when each arrival takes the best free partner already there."""
    total, pairs = one_by_one_pairs(graph, order)
    return total, len({p for pair in pairs for p in pair})


def one_by_one_pairs(graph: CandidateGraph, order: list[int]) -> tuple[float, list[tuple[int, int]]]:
    """(total score, pairs as row indices) of `batch_window: 0`: each arrival takes the best free
    partner already there."""
    capacity = graph.capacity.copy()
    arrived = np.zeros(len(capacity), dtype=bool)
    by_node: dict[int, list[tuple[float, int]]] = {}
    for (i, j), w in zip(graph.edges.tolist(), graph.weights.tolist(), strict=True):
        by_node.setdefault(i, []).append((w, j))
        by_node.setdefault(j, []).append((w, i))
    total, pairs = 0.0, []
    for person in order:
        arrived[person] = True
        for w, other in sorted(by_node.get(person, []), reverse=True):
            if capacity[person] == 0:
                break
            if arrived[other] and capacity[other] > 0:
                capacity[person] -= 1
                capacity[other] -= 1
                total += w
                pairs.append((min(person, other), max(person, other)))
    return total, pairs


def in_windows(people: list[Person], program: Program, order: list[int],
               windows: int) -> tuple[float, list[tuple[str, str]]]:
    """(total score, pairs) of continuous mode when the arrivals in `order` fall into `windows` equal
    batch windows: each window's batch optimises everyone arrived with a free place, earlier pairs kept."""
    size = -(-len(order) // windows)
    arrived: list[Person] = []
    formed: set[frozenset[str]] = set()
    load: dict[str, int] = {}
    total, pairs = 0.0, []
    for start in range(0, len(order), size):
        arrived += [people[i] for i in order[start:start + size]]
        for s in optimise(arrived, program, blocked_pairs=formed, load=load).pairs:
            formed.add(frozenset((s.person_a, s.person_b)))
            pairs.append((s.person_a, s.person_b))
            total += s.score
            for pid in (s.person_a, s.person_b):
                load[pid] = load.get(pid, 0) + 1
    return total, pairs


def rustworkx_capacity_one(graph: CandidateGraph) -> tuple[float, float]:
    """(seconds, objective) of rustworkx's exact matching with everyone at capacity 1."""
    def run() -> float:
        g = rx.PyGraph()
        g.add_nodes_from(range(len(graph.capacity)))
        scaled = np.rint(graph.weights * 10**9).astype(np.int64).tolist()
        g.add_edges_from([(i, j, w) for (i, j), w in zip(graph.edges.tolist(), scaled, strict=True)])
        chosen = rx.max_weight_matching(g, max_cardinality=False, weight_fn=lambda w: w)
        return sum(g.get_edge_data(i, j) for i, j in chosen) / 10**9

    return timed(run)  # type: ignore[return-value]


def ours_capacity_one(graph: CandidateGraph) -> tuple[float, float]:
    capacity = np.minimum(graph.capacity, 1)
    seconds, chosen = timed(lambda: max_weight_bmatching(graph.edges, solver_weights(graph.weights, capacity,
                                                                                     "quality"), capacity))
    return seconds, float(graph.weights[chosen].sum())  # type: ignore[index]


WINDOWS = 5  # arrivals spread over this many batch windows (the continuous-mode columns)
SOUGHT_AFTER = 10  # the people with the most eligible partners: whose places the fair-exposure table follows


def exposure(graph: CandidateGraph, best: list[tuple[str, str]], modes: dict[str, list[tuple[str, str]]],
             n: int) -> list[object]:
    """For the most sought-after people: the total score of their pairs under each mode as a share of
    their pairs in the optimum, and how many of their places went to the partner the optimum gives them."""
    ids = graph.ids
    degree = np.bincount(graph.edges.ravel(), minlength=len(ids))
    sought = {ids[i] for i in np.argsort(-degree, kind="stable")[:SOUGHT_AFTER]}
    score = {frozenset((ids[i], ids[j])): w for (i, j), w in zip(graph.edges.tolist(), graph.weights.tolist(),
                                                                strict=True)}

    def theirs(pairs: list[tuple[str, str]]) -> set[frozenset[str]]:
        return {frozenset(p) for p in pairs if sought & set(p)}

    reference = theirs(best)
    total = sum(score[p] for p in reference)
    out: list[object] = [n, int(degree.max()), len(reference)]
    for pairs in modes.values():
        mine = theirs(pairs)
        out += [f"{sum(score[p] for p in mine) / total:.1%}" if total else "-", len(mine & reference)]
    return out


def row(n: int, orders: int) -> tuple[list[object], list[object], list[object]]:
    people, program = cohort(n)
    graph = candidate_graph(people, program)
    participants = int(np.count_nonzero(graph.capacity > 0))
    best = solve(graph)
    coverage_program = replace(program, objective="coverage")
    widest = solve(candidate_graph(people, coverage_program))
    listed = one_by_one(graph, list(range(len(people))))
    rng = random.Random(7)
    shuffled, windowed, random_orders = [], [], []
    for _ in range(orders):
        order = list(range(len(people)))
        rng.shuffle(order)
        random_orders.append(order)
        shuffled.append(one_by_one(graph, order))
        score, pairs = in_windows(people, program, order, WINDOWS)
        windowed.append((score, len({p for pair in pairs for p in pair})))
    shuffled_score = statistics.median(s for s, _ in shuffled)
    shuffled_matched = statistics.median(m for _, m in shuffled)
    listed_windows, listed_window_pairs = in_windows(people, program, list(range(len(people))), WINDOWS)
    window_score = statistics.median(s for s, _ in windowed)
    window_matched = statistics.median(m for _, m in windowed)
    ids = graph.ids
    fair = exposure(graph, [(s.person_a, s.person_b) for s in best.pairs], {
        "one window": [(s.person_a, s.person_b) for s in best.pairs],
        "windows": in_windows(people, program, random_orders[0], WINDOWS)[1],
        "one by one": [(ids[i], ids[j]) for i, j in one_by_one_pairs(graph, random_orders[0])[1]],
    }, n)
    t_rx, rx_best = rustworkx_capacity_one(graph)
    t_ours, our_best = ours_capacity_one(graph)
    quality = [n, participants, f"{best.mode}", best.objective, best.matched,
               f"{listed[0] / best.objective:.1%}", listed[1], f"{shuffled_score / best.objective:.1%}",
               int(shuffled_matched), f"{listed_windows / best.objective:.1%}",
               len({p for pair in listed_window_pairs for p in pair}), f"{window_score / best.objective:.1%}",
               int(window_matched), f"{widest.objective / best.objective:.1%}", widest.matched]
    baseline = [n, len(graph.edges), round(rx_best, 4), round(our_best, 4),
                "yes" if abs(rx_best - our_best) < 1e-6 else "NO", round(t_rx * 1000, 1), round(t_ours * 1000, 1)]
    return quality, baseline, fair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[62, 500, 1000])
    parser.add_argument("--orders", type=int, default=5, help="shuffled arrival orders per size (median)")
    args = parser.parse_args()
    rows = [row(n, args.orders) for n in args.sizes]
    print("Share of the optimum (total score) and people matched, by mode (a cohort, or continuous arrivals all in "
          "one batch window, is the optimum itself):\n")
    print(table(["people", "participants", "optimum mode", "optimum score", "optimum matched",
                 "one by one, as listed", "matched", "one by one, shuffled (median)", "matched",
                 f"{WINDOWS} windows, as listed", "matched", f"{WINDOWS} windows, shuffled (median)", "matched",
                 "cohort, objective coverage", "matched"], [q for q, _, _ in rows]))
    print(f"\nFair exposure: the {SOUGHT_AFTER} people with the most eligible partners; their pairs' total score as "
          "a share of theirs in the optimum, and how many of those pairs are the optimum's (one shuffled order):\n")
    print(table(["people", "most candidates", "their pairs in the optimum", "one window (cohort)", "same pairs",
                 f"{WINDOWS} windows", "same pairs", "one by one", "same pairs"], [f for _, _, f in rows]))
    print("\nBaseline, capacity 1 for everyone: rustworkx max_weight_matching vs our blossom b-matching:\n")
    print(table(["people", "edges", "rustworkx objective", "our objective", "equal", "rustworkx ms", "ours ms"],
                [b for _, b, _ in rows]))


if __name__ == "__main__":
    main()
