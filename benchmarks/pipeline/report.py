"""The benchmark's printed tables (Markdown, so they paste into docs/benchmarks.md)."""

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.pipeline.run import Report


def seconds(value: float | None, deadline: float | None = None) -> str:
    if value is None or math.isnan(value):
        return "-"
    if math.isinf(value):
        return f"> {deadline:g} s" if deadline else "never"
    if value >= 3600:
        return f"{value / 3600:.1f} h"
    if value >= 120:
        return f"{value / 60:.1f} min"
    return f"{value * 1000:.1f} ms" if value < 0.1 else f"{value:.2f} s"


def ratio(value: float) -> str:
    return "-" if math.isinf(value) or math.isnan(value) else f"{value:,.0f}x"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def render(report: "Report") -> str:
    cfg = report.config
    out = [f"Pipeline benchmark, {report.started_at}: profiles.submitted -> proposal email at the SMTP sink",
           f"({cfg.duration_s:g} s per offered rate, a fresh embedded stack per measurement, "
           f"emails waited for up to {cfg.deadline_s:g} s after the last submission)", ""]
    out.append(table(
        ["offered /s", "people", "arrived", "missing", "p50", "p95", "p99", "backlog growth /s", "completed /s",
         "sustained"],
        [[f"{lv.rate:g}", str(lv.submitted), str(lv.arrived), str(lv.missing),
          *(seconds(v, cfg.deadline_s) for v in (lv.p50_s, lv.p95_s, lv.p99_s)),
          f"{lv.backlog_growth_per_s:.2f}", f"{lv.completed_per_s:.2f}", "yes" if lv.held else "no"]
         for lv in report.levels]))
    out += ["", "Stage split (p50 of each stage; the three stages of one email add up to its latency):", ""]
    out.append(table(["offered /s", "submit -> profiles.changed", "-> matches.proposed", "-> email"],
                     [[f"{lv.rate:g}", *(seconds(lv.stage_p50_s[s]) for s in lv.stage_p50_s)]
                      for lv in report.levels]))
    out += ["", "Against the bare broker (aiokafka produce -> consume on the same broker, measured before each level):",
            ""]
    out.append(table(["offered /s", "bare hop p50", "bare hop p99", "pipeline p50 / (3 hops x bare hop p50)"],
                     [[f"{lv.rate:g}", seconds(lv.hop_p50_s), seconds(lv.hop_p99_s), ratio(lv.ratio_to_bare_hops)]
                      for lv in report.levels]))
    out.append("")
    if any(lv.breakdown for lv in report.levels):
        out += ["Per-hop breakdown (means; from the services' reciprocal_handler_seconds / reciprocal_db_seconds):", ""]
        out.append(table(["offered /s", "stage", "stage", "handler", "of which database", "broker + waiting"],
                         [[f"{lv.rate:g}", stage, seconds(b["stage_mean_s"]), seconds(b["handler_s"]),
                           seconds(b["db_s"]), seconds(b["broker_and_waiting_s"])]
                          for lv in report.levels if lv.breakdown for stage, b in lv.breakdown.items()]))
    else:
        out.append("Per-hop broker / handler / database breakdown: not available (the services' /metrics expose no "
                   "reciprocal_handler_seconds / reciprocal_db_seconds histograms).")
    out.append("")
    held = report.sustained_max
    out.append(f"Sustained maximum offered rate: {f'{held:g} profiles/s' if held else 'none of the offered rates'} "
               f"(everything arrived, p99 <= {cfg.p99_bound_s:g} s, backlog growing < 10% of the offer).")
    if report.capacity_per_s is not None:
        out.append(f"Completions at the highest offered rate: {report.capacity_per_s:.2f} profiles/s.")
    if report.bulk:
        b = report.bulk
        if b.complete:
            out.append(f"Bulk import of {b.size:,} profiles into one program: every profiles.changed after "
                       f"{seconds(b.all_changed_s)} ({b.size / b.all_changed_s:.1f}/s), every person proposed after "
                       f"{seconds(b.all_proposed_s)} ({b.size / b.all_proposed_s:.1f}/s).")
        else:
            out.append(f"Bulk import of {b.size:,} profiles: NOT complete within {cfg.import_timeout_s:g} s: "
                       f"{b.changed_seen:,} profiles.changed ({b.changed_per_s:.1f}/s) and {b.proposed_seen:,} people "
                       f"proposed ({b.proposed_per_s:.1f}/s) seen"
                       + (f"; every profiles.changed after {seconds(b.all_changed_s)}" if b.all_changed_s else "")
                       + (f"; at that pace every proposal would take about {seconds(b.size / b.proposed_per_s)}"
                          if b.proposed_per_s else "") + ".")
        out.append("A click in the middle of the import (both acceptances of a proposal, sent once half the "
                   "profiles.changed were out) took effect (matches.accepted) after "
                   + (f"{seconds(b.click_s)}." if b.click_s is not None else "more than 30 s: NOT within the bound."))
    out.append(f"Whole run: {report.seconds:.0f} s.")
    return "\n".join(out)
