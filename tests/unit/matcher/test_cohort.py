import random
from dataclasses import replace
from datetime import UTC, datetime

import networkx as nx
import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from services.matcher.domain import ineligibility, person_from_profile, program_from_event, score_pair
from services.matcher.domain.bmatching import FAST_REFINE_MAX_EDGES, fast_bmatching, max_weight_bmatching
from services.matcher.domain.cohort import SCALE, blocking_pairs, candidate_graph, optimise
from services.matcher.domain.generator import generate_cohort, generate_program


def milp_optimum(edges, weights, capacity) -> float:
    """An independent exact b-matching solver: the integer program, solved by HiGHS."""
    m, n = len(edges), len(capacity)
    if m == 0:
        return 0.0
    incidence = coo_matrix((np.ones(2 * m), (np.concatenate([edges[:, 0], edges[:, 1]]),
                                             np.tile(np.arange(m), 2))), shape=(n, m))
    res = milp(-np.asarray(weights, dtype=float), integrality=np.ones(m), bounds=Bounds(0, 1),
               constraints=LinearConstraint(incidence, 0, capacity), options={"mip_rel_gap": 0})
    assert res.success
    return -res.fun


def random_instance(rng: random.Random, n: int, p: float, max_cap: int):
    edges = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < p]
    weights = [rng.randint(1, 1000) for _ in edges]
    capacity = [rng.randint(1, max_cap) for _ in range(n)]
    return np.array(edges, dtype=np.int64).reshape(-1, 2), np.array(weights, dtype=np.int64), np.array(capacity)


def check_feasible(edges, chosen, capacity):
    used = np.bincount(edges[chosen].ravel(), minlength=len(capacity))
    assert (used <= capacity).all()
    assert len(set(map(tuple, edges[chosen].tolist()))) == len(chosen)


@pytest.mark.parametrize("seed", range(12))
def test_capacity_one_equals_networkx(seed):
    rng = random.Random(seed)
    edges, weights, _ = random_instance(rng, rng.randint(5, 40), 0.25, 1)
    capacity = np.ones(edges.max(initial=0) + 1, dtype=np.int64)
    chosen = max_weight_bmatching(edges, weights, capacity)
    check_feasible(edges, chosen, capacity)
    g = nx.Graph()
    g.add_weighted_edges_from((int(i), int(j), int(w)) for (i, j), w in zip(edges, weights, strict=True))
    best = sum(g[u][v]["weight"] for u, v in nx.max_weight_matching(g))
    assert weights[chosen].sum() == best


@pytest.mark.parametrize("seed", range(15))
def test_b_matching_equals_the_integer_program(seed):
    rng = random.Random(100 + seed)
    edges, weights, capacity = random_instance(rng, rng.randint(4, 24), rng.choice((0.2, 0.4, 0.7)), 3)
    chosen = max_weight_bmatching(edges, weights, capacity)
    check_feasible(edges, chosen, capacity)
    assert weights[chosen].sum() == pytest.approx(milp_optimum(edges, weights, capacity), rel=1e-9)


def cohort(n: int, seed: int, **program_fields):
    program = program_from_event(generate_program(**program_fields))
    return [person_from_profile(e) for e in generate_cohort(n, seed)], program


def test_candidate_graph_equals_the_pairwise_rules_and_scores():
    people, program = cohort(220, 7, cross_department="required")
    rng = random.Random(3)
    people = [replace(p, active=False) if rng.random() < 0.05 else p for p in people]
    load = {p.person_id: 1 for p in rng.sample(people, 20)}
    blocked = {frozenset((a.person_id, b.person_id)) for a, b in zip(people[::7], people[1::7], strict=False)}
    graph = candidate_graph(people, program, blocked_pairs=blocked, load=load)
    edges = {(a, b): w for a, b, w in graph.edge_list()}
    expected = {}
    for i, a in enumerate(people):
        for b in people[i + 1:]:
            if not ineligibility(a, b, program, blocked_pairs=blocked, load=load):
                expected[(a.person_id, b.person_id)] = score_pair(a, b, program).score
    assert len(expected) > 40
    assert edges.keys() == expected.keys()
    for key, w in expected.items():
        assert edges[key] == pytest.approx(w, rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_optimise_exact_equals_independent_solver(seed):
    people, program = cohort(90, seed)
    load = {people[0].person_id: 1}
    result = optimise(people, program, load=load, exact=True)
    ids = sorted({x for a, b, _ in result.graph for x in (a, b)})
    row = {pid: i for i, pid in enumerate(ids)}
    edges = np.array([(row[a], row[b]) for a, b, _ in result.graph], dtype=np.int64).reshape(-1, 2)
    weights = np.array([w for _, _, w in result.graph])
    by_id = {p.person_id: p for p in people}
    capacity = np.array([by_id[pid].max_partners - load.get(pid, 0) for pid in ids])
    assert result.objective == pytest.approx(milp_optimum(edges, weights, capacity), rel=1e-6)
    fast = optimise(people, program, load=load)
    assert fast.objective >= 0.995 * result.objective


def test_every_pair_formed_is_eligible_and_within_capacity():
    people, program = cohort(120, 11)
    load = {p.person_id: 1 for p in people[:10]}
    result = optimise(people, program, load=load, exact=True)
    by_id = {p.person_id: p for p in people}
    count: dict[str, int] = {}
    for s in result.pairs:
        assert ineligibility(by_id[s.person_a], by_id[s.person_b], program, load=load) == []
        assert s.score > 0 and s.value_ab > 0 and s.value_ba > 0
        for pid in (s.person_a, s.person_b):
            count[pid] = count.get(pid, 0) + 1
    for pid, used in count.items():
        assert used + load.get(pid, 0) <= by_id[pid].max_partners
    assert result.objective == pytest.approx(sum(s.score for s in result.pairs))


def test_report_coverage_reasons_and_department_matrix(alice, bob, make, program):
    carol = make("carol", department="finance", languages=frozenset({"fr"}))
    dave = make("dave", department="sales")
    result = optimise([alice, bob, carol, dave], program, load={"dave": 1})
    assert [(s.person_a, s.person_b) for s in result.pairs] == [("alice", "bob")]
    assert result.participants == 3 and result.matched == 2
    assert result.coverage == pytest.approx(2 / 3)
    assert result.unmatched["carol"][0].startswith("no_eligible_partner: ")
    assert "no_shared_language" in result.unmatched["carol"][0]
    assert result.unmatched["dave"][0].startswith("no_capacity")
    assert result.department_matrix == {"engineering": {"marketing": 1}, "marketing": {"engineering": 1}}
    assert result.graph == [("alice", "bob", pytest.approx(score_pair(alice, bob, program).score))]


def test_partners_taken_reason(alice, bob, program):
    bob2 = replace(bob, person_id="bob2", offers=(("social media", 2),))
    result = optimise([alice, bob, bob2], program)
    assert result.unmatched["bob2"][0].startswith("partners_taken")


def test_blocking_pairs_report(alice, bob, program):
    weak = replace(bob, person_id="weak", offers=(("social media", 2),))
    forced = optimise([alice, weak], program)
    assert blocking_pairs(forced, [alice, weak], program) == []
    result = optimise([alice, bob, weak], program)
    assert blocking_pairs(result, [alice, bob, weak], program) == []
    # a hand-made assignment of alice to the weaker partner is blocked by (alice, bob)
    bad = replace(result, pairs=[score_pair(alice, weak, program)])
    blocking = blocking_pairs(bad, [alice, bob, weak], program)
    assert [(x.person_a, x.person_b) for x in blocking] == [("alice", "bob")]
    assert blocking[0].a_worst == pytest.approx(score_pair(alice, weak, program).score)
    assert blocking[0].b_worst == 0.0


def test_dst_is_respected_by_the_vectorised_graph(alice, bob, program):
    a = replace(alice, timezone="America/New_York", availability=(("mon", "09:00", "10:00"),))
    b = replace(bob, timezone="Europe/London", availability=(("mon", "14:00", "15:00"),))
    spanning = replace(program, starts_on=datetime(2027, 3, 1, tzinfo=UTC))
    assert optimise([a, b], spanning).pairs == []
    assert len(optimise([a, b], replace(program, starts_on=datetime(2027, 4, 5, tzinfo=UTC))).pairs) == 1


@pytest.mark.parametrize("seed", range(40))
def test_fast_bmatching_is_within_half_a_percent_of_the_optimum_and_below_its_bound(seed):
    rng = random.Random(500 + seed)
    edges, weights, capacity = random_instance(rng, rng.randint(6, 70), rng.choice((0.1, 0.25, 0.5)),
                                               rng.choice((1, 2, 3)))
    if len(edges) == 0:
        return
    optimum = weights[max_weight_bmatching(edges, weights, capacity)].sum()
    for refine in (FAST_REFINE_MAX_EDGES, 0):
        fast = fast_bmatching(edges, weights, capacity, refine_max_edges=refine)
        check_feasible(edges, fast.chosen, capacity)
        value = weights[fast.chosen].sum()
        assert value <= fast.upper_bound * (1 + 1e-9) and optimum <= fast.upper_bound * (1 + 1e-9)
        if fast.proven_optimal:
            assert value == optimum
        if refine:  # reduced-cost fixing leaves small instances to the exact solver
            assert fast.proven_optimal
        else:  # LP rounding with the local repair alone
            assert value >= 0.95 * optimum


@pytest.mark.parametrize("seed", range(3))
def test_fast_mode_on_realistic_cohorts_reaches_99_5_percent_without_refinement(seed):
    people, program = cohort(700, 40 + seed)
    graph = candidate_graph(people, program)
    weights = np.rint(graph.weights * SCALE).astype(np.int64)
    optimum = weights[max_weight_bmatching(graph.edges, weights, graph.capacity)].sum()
    fast = fast_bmatching(graph.edges, weights, graph.capacity, refine_max_edges=0)
    check_feasible(graph.edges, fast.chosen, graph.capacity)
    assert weights[fast.chosen].sum() >= 0.995 * optimum
    assert weights[fast.chosen].sum() >= 0.995 * fast.upper_bound


def test_optimise_modes(alice, bob, program):
    assert optimise([alice, bob], program).mode == "exact"
    fast = optimise([alice, bob], program, exact=False)
    assert fast.mode == "fast" and fast.exact  # the LP bound proves a single pair optimal
    assert fast.upper_bound == pytest.approx(fast.objective)
    assert fast.to_doc()["upper_bound"] == fast.upper_bound


def test_the_coverage_objective_matches_more_people_where_quality_would_take_one_strong_pair():
    """A path a-b-c-d: one strong middle pair (b, c) outscores the two weak outer pairs together.
    Quality takes it; coverage matches all four, then the best score among matchings of that size."""
    import numpy as np

    from services.matcher.domain.bmatching import fast_bmatching, max_weight_bmatching
    from services.matcher.domain.cohort import solver_weights

    edges = np.array([[0, 1], [1, 2], [2, 3]])
    scores = np.array([0.30, 1.20, 0.30])
    capacity = np.ones(4, dtype=np.int64)
    quality = max_weight_bmatching(edges, solver_weights(scores, capacity, "quality"), capacity)
    coverage = max_weight_bmatching(edges, solver_weights(scores, capacity, "coverage"), capacity)
    assert sorted(quality.tolist()) == [1]
    assert sorted(coverage.tolist()) == [0, 2], "all four matched, although 0.30 + 0.30 < 1.20"
    fast = fast_bmatching(edges, solver_weights(scores, capacity, "coverage"), capacity)
    assert len(fast.chosen) == 2
