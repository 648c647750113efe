"""Smoke run of the matching-quality benchmark: one by one never beats the optimum, the coverage
objective never matches fewer people, and our solver equals rustworkx on the capacity-1 graph."""

from benchmarks.matcher._common import cohort
from benchmarks.matcher.bench_quality import one_by_one, row
from services.matcher.domain.cohort import candidate_graph, solve


def test_one_by_one_is_at_most_the_optimum_and_the_baseline_agrees():
    for n in (62, 200):
        people, program = cohort(n)
        graph = candidate_graph(people, program)
        best = solve(graph)
        for order in (list(range(n)), list(reversed(range(n)))):
            score, _ = one_by_one(graph, order)
            assert score <= best.objective + 1e-9
        quality, baseline = row(n, orders=2)
        assert quality[10] >= quality[4], "coverage matched fewer people than quality"
        assert baseline[4] == "yes", baseline
