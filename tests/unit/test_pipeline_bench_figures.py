"""The pipeline benchmark's arithmetic: percentiles with missing emails, backlog growth, the sustained verdict,
and the per-hop breakdown read from /metrics when the services expose their histograms (and not when they do not)."""

import math

from benchmarks.pipeline.metrics import per_message, totals_of
from benchmarks.pipeline.stats import backlog_growth, percentile, sustained

HISTOGRAMS = """\
# HELP reciprocal_handler_seconds Handler time
# TYPE reciprocal_handler_seconds histogram
reciprocal_handler_seconds_bucket{topic="a",le="+Inf"} 3.0
reciprocal_handler_seconds_sum{topic="a"} 0.3
reciprocal_handler_seconds_count{topic="a"} 3.0
reciprocal_handler_seconds_bucket{topic="b",le="+Inf"} 1.0
reciprocal_handler_seconds_sum{topic="b"} 0.1
reciprocal_handler_seconds_count{topic="b"} 1.0
# HELP reciprocal_db_seconds Database time
# TYPE reciprocal_db_seconds histogram
reciprocal_db_seconds_bucket{op="find",le="+Inf"} 8.0
reciprocal_db_seconds_sum{op="find"} 0.2
reciprocal_db_seconds_count{op="find"} 8.0
"""
OTHER = "# TYPE faststream_received_messages_total counter\nfaststream_received_messages_total 4.0\n"


def test_missing_emails_count_as_never_arrived_in_the_percentiles():
    arrived = [1.0] * 99
    assert percentile(arrived + [math.inf] * 2, 99) == math.inf
    assert percentile([*arrived, math.inf], 99) == 1.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0 and math.isnan(percentile([], 50))


def test_backlog_growth_is_the_slope_over_the_second_half_of_the_window():
    flat_then_growing = [(t, 0.0 if t < 5 else 3.0 * (t - 5)) for t in range(11)]
    assert math.isclose(backlog_growth(flat_then_growing, 0, 10), 3.0)
    steady = [(t, 5.0) for t in range(11)]
    assert backlog_growth(steady, 0, 10) == 0.0


def test_a_rate_is_sustained_only_if_all_arrived_p99_bounded_and_backlog_flat():
    assert sustained(rate=5, missing=0, p99=2.0, growth=0.2, p99_bound=10)
    assert not sustained(rate=5, missing=1, p99=2.0, growth=0.0, p99_bound=10)
    assert not sustained(rate=5, missing=0, p99=11.0, growth=0.0, p99_bound=10)
    assert not sustained(rate=20, missing=0, p99=2.0, growth=15.0, p99_bound=10)


def test_breakdown_is_time_per_handled_message_between_two_scrapes():
    before = {"profiles": totals_of(HISTOGRAMS)}
    after = {"profiles": totals_of(HISTOGRAMS.replace("0.3", "1.3").replace('"a"} 3.0', '"a"} 7.0')
                                   .replace("_sum{op=\"find\"} 0.2", "_sum{op=\"find\"} 0.6"))}
    spent = per_message(before, after)["profiles"]
    assert spent.messages == 4 and math.isclose(spent.handler_s, 0.25) and math.isclose(spent.db_s, 0.1)


def test_no_breakdown_when_the_histograms_are_not_exposed():
    plain = {"profiles": totals_of(OTHER), "matcher": totals_of(HISTOGRAMS)}
    assert not plain["profiles"].exposed
    assert per_message(plain, plain) is None


def _level(breakdown):
    from benchmarks.pipeline.run import Level

    return Level(rate=5, submitted=10, arrived=10, missing=0, p50_s=1.0, p95_s=1.5, p99_s=2.0,
                 backlog_growth_per_s=0.0, completed_per_s=5.0, held=True,
                 stage_p50_s={"submit->changed": 0.2, "changed->proposed": 0.4, "proposed->email": 0.4},
                 stage_mean_s={}, hop_p50_s=0.002, hop_p99_s=0.005, ratio_to_bare_hops=166.7, breakdown=breakdown)


def test_the_report_shows_the_breakdown_when_measured_and_says_so_when_not():
    from benchmarks.pipeline.report import render
    from benchmarks.pipeline.run import Config, Report

    without = render(Report(Config(), levels=[_level(None)]))
    assert "breakdown: not available" in without and "Sustained maximum offered rate: 5 profiles/s" in without
    spent = {"stage_mean_s": 0.3, "handler_s": 0.1, "db_s": 0.05, "broker_and_waiting_s": 0.2}
    with_it = render(Report(Config(), levels=[_level({"submit->changed": spent})]))
    assert "| 5 | submit->changed | 0.30 s | 0.10 s | 50.0 ms | 0.20 s |" in with_it
    assert "not available" not in with_it and "| 5 | 2.0 ms | 5.0 ms | 167x |" in with_it


def test_durations_print_in_a_readable_unit():
    from benchmarks.pipeline.report import seconds

    assert [seconds(v) for v in (0.0021, 1.5, 600, 11632)] == ["2.1 ms", "1.50 s", "10.0 min", "3.2 h"]
    assert seconds(math.inf, 30) == "> 30 s" and seconds(None) == "-"
