"""Whole-cohort optimisation: score computation + optimisation, fast and exact modes, against
rustworkx's blossom `max_weight_matching` on the same candidate graph (b-matching reduced to
matching in one piece, see `bmatching`) and, for small sizes, networkx.

    python -m benchmarks.matcher.bench_cohort [--sizes 1000 2000 5000 10000] [--networkx-max 1000]
"""

import argparse

import networkx as nx
import numpy as np

from benchmarks.matcher._common import cohort, table, timed
from services.matcher.domain.bmatching import _component
from services.matcher.domain.cohort import SCALE, candidate_graph, solve


def run(n: int, networkx_max: int) -> list[object]:
    people, program = cohort(n)
    t_graph, graph = timed(lambda: candidate_graph(people, program))
    t_fast, fast = timed(lambda: solve(graph, exact=False))
    t_exact, exact = timed(lambda: solve(graph, exact=True))
    weights = np.rint(graph.weights * SCALE).astype(np.int64)
    t_rx, chosen = timed(lambda: _component(graph.edges, weights, graph.capacity))
    rx_objective = float(graph.weights[chosen].sum())
    nx_cell = "-"
    if n <= networkx_max and (graph.capacity <= 1).all():
        g = nx.Graph()
        g.add_weighted_edges_from((int(i), int(j), float(w)) for (i, j), w in zip(graph.edges, graph.weights,
                                                                                   strict=True))
        t_nx, m = timed(lambda: nx.max_weight_matching(g))
        nx_cell = f"{t_nx:.2f}"
    optimum = exact.objective
    return [f"{n:,}", len(graph.edges), t_graph, t_fast, f"{fast.objective / optimum:.6f}", t_graph + t_fast,
            t_exact, t_rx, f"{rx_objective / optimum:.6f}", t_rx / t_fast, nx_cell, f"{fast.coverage:.1%}"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 5000, 10_000])
    parser.add_argument("--networkx-max", type=int, default=1000)
    args = parser.parse_args()
    rows = [run(n, args.networkx_max) for n in args.sizes]
    print(table(["people", "edges", "scoring s", "fast solve s", "fast / optimum", "fast total s",
                 "exact solve s", "rustworkx s", "rustworkx / optimum", "rustworkx / fast time",
                 "networkx s", "coverage"], rows))


if __name__ == "__main__":
    main()
