"""Exactness up to 2,000 participants: the whole-cohort objective equals the optimum within 1e-6
relative, checked on seeded realistic cohorts against independent solvers on the same candidate
graph: rustworkx's blossom on the plain graph (no reduction, no split into components) and
networkx for capacity 1, the integer program (HiGHS, no gap tolerance) for capacities up to 3."""

from dataclasses import replace

import networkx as nx
import numpy as np
import pytest
import rustworkx as rx
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from services.matcher.domain import cohort as cohort_module
from services.matcher.domain import person_from_profile, program_from_event
from services.matcher.domain.cohort import SCALE, candidate_graph, optimise, solve
from services.matcher.domain.generator import generate_cohort, generate_program

REL = 1e-6


def people(n: int, seed: int, *, capacity_one: bool):
    out = [person_from_profile(e) for e in generate_cohort(n, seed)]
    return [replace(p, max_partners=1) for p in out] if capacity_one else out


def rustworkx_matching(graph, *, max_cardinality: bool = False) -> tuple[int, float]:
    """(pairs, total score) of rustworkx's matching of the candidate graph itself, one call: the
    maximum-weight one, or with `max_cardinality` the heaviest among those with the most pairs."""
    g = rx.PyGraph()
    g.add_nodes_from(range(len(graph.capacity)))
    scaled = np.rint(graph.weights * SCALE).astype(np.int64)
    index = {}
    for e, ((i, j), w) in enumerate(zip(graph.edges.tolist(), scaled.tolist(), strict=True)):
        index[(i, j)] = e
        g.add_edge(i, j, w)
    matching = rx.max_weight_matching(g, max_cardinality=max_cardinality, weight_fn=lambda w: w)
    return len(matching), float(sum(graph.weights[index[(min(a, b), max(a, b))]] for a, b in matching))


def rustworkx_optimum(graph) -> float:
    return rustworkx_matching(graph)[1]


def networkx_optimum(graph) -> float:
    g = nx.Graph()
    g.add_weighted_edges_from((i, j, w) for (i, j), w in zip(graph.edges.tolist(), graph.weights.tolist(),
                                                              strict=True))
    return float(sum(g[a][b]["weight"] for a, b in nx.max_weight_matching(g)))


def milp_optimum(graph) -> float:
    """The b-matching integer program on the float scores, solved to optimality by HiGHS."""
    edges, weights, capacity = graph.edges, graph.weights, graph.capacity
    m, n = len(edges), len(capacity)
    incidence = coo_matrix((np.ones(2 * m), (np.concatenate([edges[:, 0], edges[:, 1]]), np.tile(np.arange(m), 2))),
                           shape=(n, m))
    res = milp(-weights, integrality=np.ones(m), bounds=Bounds(0, 1),
               constraints=LinearConstraint(incidence, 0, capacity), options={"mip_rel_gap": 0})
    assert res.success
    return float(-res.fun)


def check(result, optimum: float) -> None:
    assert result.exact and result.mode == "exact"
    assert result.objective == pytest.approx(optimum, rel=REL)


@pytest.mark.parametrize("seed", [1, 2])
def test_2000_participants_capacity_one_equals_rustworkx_on_the_same_graph(seed):
    """Capacity 1 everywhere: the b-matching is a matching, so rustworkx's max_weight_matching on
    the candidate graph is the exact reference. The default mode at 2,000 is exact."""
    program = program_from_event(generate_program())
    graph = candidate_graph(people(2000, seed, capacity_one=True), program)
    assert int(np.count_nonzero(graph.capacity > 0)) == 2000 and len(graph.edges) > 5000
    result = solve(graph)  # default mode
    check(result, rustworkx_optimum(graph))
    assert result.participants == 2000


def test_2000_participants_with_capacities_equals_the_integer_program():
    program = program_from_event(generate_program(cross_department="required"))
    cohort = people(2000, 3, capacity_one=False)
    assert {p.max_partners for p in cohort} == {1, 2, 3}
    graph = candidate_graph(cohort, program)
    check(solve(graph), milp_optimum(graph))


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_smaller_cohorts_equal_networkx_and_the_integer_program(seed):
    program = program_from_event(generate_program(session_minutes=(30, 45, 60)[seed % 3]))
    graph = candidate_graph(people(400, seed, capacity_one=True), program)
    check(solve(graph), networkx_optimum(graph))
    graph = candidate_graph(people(600, seed, capacity_one=False), program, load={f"u{i:06d}": 1 for i in range(50)})
    check(solve(graph), milp_optimum(graph))


def test_default_mode_is_exact_up_to_2000_participants_and_fast_above(monkeypatch):
    assert cohort_module.EXACT_UP_TO == 2000
    program = program_from_event(generate_program())
    cohort = people(60, 7, capacity_one=False)
    monkeypatch.setattr(cohort_module, "EXACT_UP_TO", 60)
    assert optimise(cohort, program).mode == "exact"
    monkeypatch.setattr(cohort_module, "EXACT_UP_TO", 59)
    assert optimise(cohort, program).mode == "fast"
    # participants are people with capacity left: a full one does not count
    assert optimise(cohort, program, load={cohort[0].person_id: cohort[0].max_partners}).mode == "exact"


# --- objective: coverage (the most pairs, then the best total score among them) ------------------


def coverage(program):
    return replace(program, objective="coverage")


def rustworkx_coverage_optimum(graph) -> tuple[int, float]:
    """(pairs, total score) of rustworkx's maximum-cardinality matching of greatest weight."""
    return rustworkx_matching(graph, max_cardinality=True)


def milp_coverage_optimum(graph) -> tuple[int, float]:
    """The lexicographic integer program, solved to optimality by HiGHS: first the most pairs, then
    the highest total score among b-matchings with that many pairs."""
    edges, weights, capacity = graph.edges, graph.weights, graph.capacity
    m, n = len(edges), len(capacity)
    incidence = coo_matrix((np.ones(2 * m), (np.concatenate([edges[:, 0], edges[:, 1]]), np.tile(np.arange(m), 2))),
                           shape=(n, m))
    degree = LinearConstraint(incidence, 0, capacity)
    most = milp(-np.ones(m), integrality=np.ones(m), bounds=Bounds(0, 1), constraints=degree,
                options={"mip_rel_gap": 0})
    assert most.success
    pairs = round(-most.fun)
    best = milp(-weights, integrality=np.ones(m), bounds=Bounds(0, 1),
                constraints=[degree, LinearConstraint(np.ones((1, m)), pairs, pairs)], options={"mip_rel_gap": 0})
    assert best.success
    return pairs, float(-best.fun)


def check_coverage(result, optimum: tuple[int, float]) -> None:
    pairs, score = optimum
    assert result.exact and result.mode == "exact"
    assert len(result.pairs) == pairs, "coverage: as many pairs as the independent solver"
    assert result.objective == pytest.approx(score, rel=REL)


@pytest.mark.parametrize("seed", [11, 12])
def test_coverage_with_capacity_one_equals_rustworkx_maximum_cardinality_matching(seed):
    program = coverage(program_from_event(generate_program()))
    graph = candidate_graph(people(2000, seed, capacity_one=True), program)
    result = solve(graph)
    check_coverage(result, rustworkx_coverage_optimum(graph))
    assert 2 * len(result.pairs) == result.matched
    quality = solve(candidate_graph(people(2000, seed, capacity_one=True), program_from_event(generate_program())))
    assert result.matched >= quality.matched and quality.objective >= result.objective - 1e-9


@pytest.mark.parametrize(("n", "seed"), [(600, 13), (2000, 14)])
def test_coverage_with_capacities_up_to_three_equals_the_lexicographic_integer_program(n, seed):
    program = coverage(program_from_event(generate_program(cross_department="required")))
    cohort = people(n, seed, capacity_one=False)
    assert {p.max_partners for p in cohort} == {1, 2, 3}
    graph = candidate_graph(cohort, program, load={cohort[0].person_id: 1})
    check_coverage(solve(graph), milp_coverage_optimum(graph))
