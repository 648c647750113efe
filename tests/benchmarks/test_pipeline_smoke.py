"""The pipeline benchmark's --smoke mode, on the session's stack: it runs and its figures are sane (no timings)."""

import contextlib
import math

from benchmarks.pipeline.report import render
from benchmarks.pipeline.run import Config, parse_args, run


def test_smoke_run_sees_every_submission_arrive_with_ordered_percentiles(stack):
    config, _ = parse_args(["--smoke"])
    assert config == Config.smoke()
    report = run(config, stacks=lambda: contextlib.nullcontext(stack), progress=lambda _: None)

    [level] = report.levels
    assert level.submitted == round(config.rates[0] * config.duration_s) and level.missing == 0
    assert level.arrived == level.submitted
    assert 0 < level.p50_s <= level.p95_s <= level.p99_s < config.deadline_s
    assert all(0 <= level.stage_p50_s[s] < level.p99_s for s in level.stage_p50_s)
    assert level.completed_per_s > 0 and not math.isnan(level.backlog_growth_per_s)
    assert 0 < level.hop_p50_s <= level.hop_p99_s and level.ratio_to_bare_hops > 1
    assert report.bulk is not None and report.bulk.complete
    assert report.bulk.changed_seen == report.bulk.proposed_seen == config.import_size
    assert 0 < report.bulk.all_changed_s <= report.bulk.all_proposed_s
    text = render(report)
    assert "| 5 | 20 | 20 | 0 |" in text and "Bulk import of 20 profiles" in text
