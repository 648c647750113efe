"""Whole-cohort optimisation: the assignment of maximum total score subject to capacities.

The candidate graph has an edge for every eligible pair (all hard rules, capacity left on both
sides) weighted by its score: the kernel (`kernel.assess_block`) on blocks of the cohort against
the rest. Exact mode solves maximum-weight b-matching on the whole graph with blossom
(`bmatching.max_weight_bmatching`). Fast mode (`bmatching.fast_bmatching`) solves the LP
relaxation, rounds it with a local exact repair and reports the LP bound as a certificate; when the
bound proves the result optimal it says so. By default (`exact=None`) cohorts of up to
`EXACT_UP_TO` participants are solved exactly and larger ones fast.
"""

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from services.matcher.domain.bmatching import FastSolution, fast_bmatching, max_weight_bmatching
from services.matcher.domain.kernel import NO_CAPACITY, NO_LOAD, REASON_CODES, Codebook, Columns, assess, assess_block
from services.matcher.domain.model import Person, Program
from services.matcher.domain.scoring import Scored, explained

SCALE = 10**9  # integer weights for the blossom solver
EXACT_UP_TO = 2000  # participants; above this the default mode is fast
BLOCK_ROWS = 256

NO_ELIGIBLE_PARTNER = "no_eligible_partner"
PARTNERS_TAKEN = "partners_taken"


@dataclass(frozen=True)
class CandidateGraph:
    columns: Columns  # row i: the i-th person by person_id
    edges: np.ndarray  # (m, 2) row indices, i < j
    weights: np.ndarray  # (m,) float scores
    capacity: np.ndarray  # per row: max_partners - load (0 for non-participants)
    blocked: np.ndarray  # Codebook.pair_keys of the pairs paired before
    load: Mapping[str, int]  # open partnerships per person

    @property
    def ids(self) -> list[str]:
        return [self.columns.person(r).person_id for r in range(len(self.columns.people))]

    def edge_list(self) -> list[tuple[str, str, float]]:
        ids = self.ids
        return [(ids[i], ids[j], float(w)) for (i, j), w in zip(self.edges.tolist(), self.weights.tolist(),
                                                                 strict=True)]


@dataclass(frozen=True)
class CohortResult:
    program_id: str
    pairs: list[Scored]
    objective: float
    participants: int
    matched: int
    coverage: float  # share of participants with at least one partner
    unmatched: dict[str, list[str]]  # person_id -> reasons
    department_matrix: dict[str, dict[str, int]]
    graph: list[tuple[str, str, float]]  # every candidate edge: (person_a, person_b, score)
    exact: bool  # the objective is the optimum: exact mode, or fast mode with an optimality proof
    capacity: dict[str, int] = field(default_factory=dict)  # participant -> partners they could take
    mode: str = "exact"  # "exact" (blossom) or "fast" (LP rounding)
    upper_bound: float | None = None  # fast mode: no assignment scores more than this

    def to_doc(self, *, with_graph: bool = False) -> dict[str, Any]:
        doc = {
            "program_id": self.program_id,
            "exact": self.exact,
            "mode": self.mode,
            "objective": self.objective,
            "upper_bound": self.upper_bound,
            "participants": self.participants,
            "matched": self.matched,
            "coverage": self.coverage,
            "pairs": [{"person_a": s.person_a, "person_b": s.person_b, "score": s.score,
                       "a_teaches_b": [t.model_dump() for t in s.a_teaches_b],
                       "b_teaches_a": [t.model_dump() for t in s.b_teaches_a],
                       "explanation": [f.model_dump() for f in s.explanation]} for s in self.pairs],
            "unmatched": self.unmatched,
            "department_matrix": self.department_matrix,
        }  # fmt: skip
        if with_graph:
            doc["graph"] = [{"person_a": a, "person_b": b, "weight": w} for a, b, w in self.graph]
        return doc


def candidate_graph(
    pool: Iterable[Person],
    program: Program,
    *,
    blocked_pairs: Collection[frozenset[str]] = frozenset(),
    load: Mapping[str, int] = NO_LOAD,
    now: datetime | None = None,
) -> CandidateGraph:
    people = sorted({p.person_id: p for p in pool}.values(), key=lambda p: p.person_id)
    book = Codebook(program, now=now)
    columns = Columns(book, people)
    n = len(people)
    used = np.array([load.get(p.person_id, 0) for p in people], dtype=np.int64)
    capacity = np.where(columns.member[:n], np.maximum(columns.max_partners[:n] - used, 0), 0)
    blocked = book.pair_keys(blocked_pairs)
    edge_parts, weight_parts = [], []
    for lo in range(0, n, BLOCK_ROWS):
        rows = np.arange(lo, min(lo + BLOCK_ROWS, n))
        block = assess_block(columns, rows, columns, np.arange(lo, n), load=load, blocked=blocked)
        keep = block.eligible & (block.cols > block.rows)
        edge_parts.append(np.stack([block.rows[keep], block.cols[keep]], axis=1))
        weight_parts.append(block.score[keep])
    edges = np.concatenate(edge_parts) if edge_parts else np.zeros((0, 2), dtype=np.int64)
    weights = np.concatenate(weight_parts) if weight_parts else np.zeros(0)
    return CandidateGraph(columns, edges.astype(np.int64), weights, capacity, blocked, load)


def optimise(
    pool: Iterable[Person],
    program: Program,
    *,
    blocked_pairs: Collection[frozenset[str]] = frozenset(),
    load: Mapping[str, int] = NO_LOAD,
    exact: bool | None = None,
    now: datetime | None = None,
) -> CohortResult:
    """`exact`: True = blossom, False = fast, None = exact up to EXACT_UP_TO participants."""
    return solve(candidate_graph(pool, program, blocked_pairs=blocked_pairs, load=load, now=now), exact=exact)


def solve(graph: CandidateGraph, *, exact: bool | None = None) -> CohortResult:
    columns = graph.columns
    program, people, ids, n = columns.codebook.program, columns.people, graph.ids, columns.n
    if exact is None:
        exact = int(np.count_nonzero(graph.capacity > 0)) <= EXACT_UP_TO
    weights = solver_weights(graph.weights, graph.capacity, program.objective)
    fast: FastSolution | None = None
    if exact:
        chosen = max_weight_bmatching(graph.edges, weights, graph.capacity)
    else:
        fast = fast_bmatching(graph.edges, weights, graph.capacity)
        chosen = fast.chosen
    picked = graph.edges[chosen]
    scores = assess(columns, picked[:, 0], columns, picked[:, 1])
    pairs = sorted((explained(scores, k, people[i], people[j]) for k, (i, j) in enumerate(picked.tolist())),
                   key=lambda s: (s.person_a, s.person_b))
    partners = Counter(pid for s in pairs for pid in (s.person_a, s.person_b))
    participants = [i for i in range(n) if graph.capacity[i] > 0]
    degree = np.bincount(graph.edges.ravel(), minlength=n)
    unmatched = {}
    for i in range(n):
        pid = ids[i]
        if partners[pid] or not columns.member[i]:
            continue
        if graph.capacity[i] == 0:
            unmatched[pid] = [f"{NO_CAPACITY}: {graph.load.get(pid, 0)} of {columns.max_partners[i]} partners in use"]
        elif degree[i] == 0:
            unmatched[pid] = _no_partner_reasons(graph, i)
        else:
            unmatched[pid] = [f"{PARTNERS_TAKEN}: all {degree[i]} eligible partners went to higher-scoring pairs"]
    matched = sum(1 for i in participants if partners[ids[i]])
    return CohortResult(
        program_id=program.program_id,
        pairs=pairs,
        objective=float(sum(s.score for s in pairs)),
        participants=len(participants),
        matched=matched,
        coverage=matched / len(participants) if participants else 0.0,
        unmatched=unmatched,
        department_matrix=_department_matrix(pairs, {p.person_id: p.department for p in people if p is not None}),
        graph=graph.edge_list(),
        exact=exact or bool(fast and fast.proven_optimal),
        capacity={ids[i]: int(graph.capacity[i]) for i in participants},
        mode="exact" if exact else "fast",
        upper_bound=None if fast is None or program.objective == "coverage" else fast.upper_bound / SCALE,
    )


def solver_weights(scores: np.ndarray, capacity: np.ndarray, objective: str) -> np.ndarray:
    """Integer edge weights for the solvers. `quality` maximises the total score. `coverage` first
    matches as many pairs as possible, then the best total score among those: each edge gets a bonus
    larger than any matching's whole score, so one more pair always outweighs better scores."""
    weights: np.ndarray = np.rint(scores * SCALE).astype(np.int64)
    if objective != "coverage" or len(weights) == 0:
        return weights
    most_pairs = int(capacity.sum()) // 2 + 1
    top = int(weights.max()) + 1
    while top * most_pairs * most_pairs > 2**62:  # keep every matching's total inside int64
        weights //= 2
        top = int(weights.max()) + 1
    boosted: np.ndarray = weights + top * most_pairs
    return boosted


def _no_partner_reasons(graph: CandidateGraph, i: int) -> list[str]:
    """Why nobody is eligible for row i: each rule with how many others it rules out, most first."""
    columns = graph.columns
    result = assess(columns, np.array([i]), columns, np.arange(columns.n), load=graph.load, blocked=graph.blocked)
    others = np.arange(columns.n) != i
    failing: dict[str, np.ndarray] = {}
    for code, _, ok in result.checks:
        failing[code] = failing.get(code, False) | ~ok
    counts = Counter({code: int(np.count_nonzero(failing[code] & others)) for code in REASON_CODES
                      if code in failing})
    ranked = ", ".join(f"{code} x{count}" for code, count in counts.most_common() if count)
    return [f"{NO_ELIGIBLE_PARTNER}: {ranked or 'the pool has nobody else'}"]


def _department_matrix(pairs: list[Scored], department: Mapping[str, str]) -> dict[str, dict[str, int]]:
    matrix: dict[str, dict[str, int]] = {}
    for s in pairs:
        a, b = department[s.person_a], department[s.person_b]
        matrix.setdefault(a, {}).setdefault(b, 0)
        matrix[a][b] += 1
        if a != b:
            matrix.setdefault(b, {}).setdefault(a, 0)
            matrix[b][a] += 1
    return {k: dict(sorted(v.items())) for k, v in sorted(matrix.items())}


@dataclass(frozen=True)
class BlockingPair:
    person_a: str
    person_b: str
    score: float
    a_worst: float  # score of a's weakest current partnership (0 if a has free capacity)
    b_worst: float


def blocking_pairs(result: CohortResult, pool: Iterable[Person], program: Program) -> list[BlockingPair]:
    """Unmatched candidate pairs whose two people would both rather have each other: each has free
    capacity or a current partner scoring lower (pair scores are symmetric, so "prefers" means a
    higher pair score)."""
    people = {p.person_id: p for p in pool}
    capacity = result.capacity or {pid: p.max_partners for pid, p in people.items()}
    held: dict[str, list[float]] = {}
    for s in result.pairs:
        held.setdefault(s.person_a, []).append(s.score)
        held.setdefault(s.person_b, []).append(s.score)
    formed = {s.pair for s in result.pairs}

    def worst(pid: str) -> float:
        scores = held.get(pid, [])
        return 0.0 if len(scores) < capacity.get(pid, 0) else min(scores)

    out = []
    for a, b, w in result.graph:
        if frozenset((a, b)) in formed or a not in people or b not in people:
            continue
        wa, wb = worst(a), worst(b)
        if w > wa and w > wb:
            out.append(BlockingPair(a, b, w, wa, wb))
    return sorted(out, key=lambda x: (-x.score, x.person_a, x.person_b))
