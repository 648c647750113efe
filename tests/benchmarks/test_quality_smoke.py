"""Smoke runs of the matching-quality benchmarks: one by one never beats the optimum, the coverage
objective never matches fewer people, our solver equals rustworkx on the capacity-1 graph, and on the
running stack the live pairs of both modes are the optimum's."""

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
        quality, baseline, fair = row(n, orders=2)
        assert quality[14] >= quality[4], "coverage matched fewer people than quality"
        assert baseline[4] == "yes", baseline
        assert fair[3] == "100.0%" and fair[4] == fair[2], "in one window the sought-after get the optimum's pairs"


async def test_live_pairs_on_the_stack_equal_the_optimum_in_cohort_and_batched_continuous_mode(stack):
    """Smoke run of `bench_live_quality` on the test stack: 60 people, shuffled, both modes."""
    import httpx

    from benchmarks.matcher.bench_live_quality import one_run, orders
    from reciprocal.wire import Frontend, Tap

    async with Frontend(stack.kafka_bootstrap) as fe, Tap(stack.kafka_bootstrap, ["matches.proposed"]) as tap, \
            httpx.AsyncClient(timeout=60) as web:
        for mode in ("cohort", "continuous"):
            run = await one_run(stack, fe, tap, web, 60, mode, "shuffled", orders(60)["shuffled"], 4.0)
            assert run.violations == 0
            assert run.share >= 0.999 and run.matched == run.optimum_matched, run
            assert run.batches == 1, run
