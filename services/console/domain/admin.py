"""The admin pages' view models: programs, a program's overview, department matrix, pairs, health and
outcomes. Inputs are the owning services' JSON answers; nothing here does I/O."""

from collections import Counter
from collections.abc import Iterable
from typing import Any

from services.console.domain.tables import Column, Table

OPEN = ("proposed", "accepted")
FORMED = ("proposed", "accepted", "ended")
HEAT_LEVELS = 5


def programs_table(profile_programs: list[dict[str, Any]], match_counts: list[dict[str, Any]]) -> Table:
    counts = {p["program_id"]: p for p in match_counts}
    rows = []
    for p in sorted({*(q["program_id"] for q in profile_programs), *counts}):
        enrolment = next((q for q in profile_programs if q["program_id"] == p), {})
        matcher = counts.get(p, {})
        statuses = matcher.get("matches", {})
        rows.append({"program_id": p, "name": enrolment.get("name") or matcher.get("name") or p,
                     "enrolled": enrolment.get("enrolled", 0), "active": enrolment.get("active", 0),
                     "matched": matcher.get("people_matched", 0), "partnerships": statuses.get("accepted", 0),
                     "pending": statuses.get("proposed", 0)})
    return Table("programs", "Programs", [
        Column("name", "Program"), Column("program_id", "Id"), Column("enrolled", "Enrolled", True),
        Column("active", "Active people", True), Column("matched", "Matched people", True),
        Column("partnerships", "Active partnerships", True), Column("pending", "Pending proposals", True)],
        rows, empty="No programs yet.")


def _pair(m: dict[str, Any]) -> str:
    return f"{m['name_a']} & {m['name_b']}"


def overview(program: dict[str, Any], summary: dict[str, Any], unmatched: dict[str, Any], declined: dict[str, Any],
             pending: dict[str, Any], page: int, size: int) -> dict[str, Any]:
    """Enrolled and active people (the profiles service's count), coverage with the reason each unmatched
    person was left out, the proposals by outcome (declines with their reasons) and the median time from
    proposal to partnership (the matcher's figures), with one page of each table (the services' pages:
    `unmatched`, `declined` and `pending` are their answers, each with `total`)."""
    status: Counter[str] = Counter(summary.get("matches", {}))
    active = int(program.get("active", 0))
    left_out = int(unmatched.get("total", 0))
    matched = max(active - left_out, 0)
    unmatched_table = Table("unmatched", "People left out, and why", [
        Column("person", "Person"), Column("department", "Department"), Column("reason", "Reason")],
        unmatched_rows(unmatched.get("people", [])),
        empty="Everyone active has a partner or a pending proposal.").of_page(left_out, page, size)
    declined_table = declined_of(declined.get("matches", [])).of_page(int(declined.get("total", 0)), page, size)
    proposals = {"pending": status["proposed"], "accepted": status["accepted"] + status["ended"],
                 "declined": status["declined"], "expired": status["expired"], "withdrawn": status["withdrawn"]}
    return {
        "enrolled": int(program.get("enrolled", 0)), "active": active,
        "coverage": round(matched / active, 4) if active else None, "matched_people": matched,
        "unmatched": unmatched_table, "declined": declined_table, "proposals": proposals,
        "decline_reasons": dict(summary.get("decline_reasons", {})),
        "median_hours_to_match": summary.get("median_hours_to_match"),
        "pending": pending_table(pending.get("matches", [])).of_page(int(pending.get("total", 0)), page, size),
        "cohort": summary.get("cohort"),
    }


def unmatched_rows(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"person": p["display_name"] or p["person_id"], "department": p["department"], "reason": p["reason"]}
            for p in people]


def declined_of(matches: list[dict[str, Any]]) -> Table:
    return Table("declined", "Declined proposals", [Column("pair", "Pair"), Column("reason", "Reason")],
                 [{"pair": _pair(m), "reason": m.get("reason") or "declined"} for m in matches
                  if m["status"] == "declined"], empty="No proposal was declined.")


def pending_table(matches: list[dict[str, Any]]) -> Table:
    return Table("proposals", "Pending proposals", [
        Column("pair", "Pair"), Column("score", "Score", True), Column("expires_at", "Expires (UTC)"),
        Column("accepted_by", "Accepted by")],
        [{"match_id": m["match_id"], "pair": _pair(m), "score": m["score"],
          "expires_at": (m.get("expires_at") or "")[:16].replace("T", " "), "accepted_by": m.get("accepted_by") or []}
         for m in matches if m["status"] == "proposed"],
        empty="No proposal is waiting for an answer.")


def department_matrix(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Department × department counts of pairs (symmetric; a same-department pair counts once on the
    diagonal), with a heat level 0–5 per cell for the colours."""
    counts: Counter[tuple[str, str]] = Counter()
    departments: set[str] = set()
    for a, b in pairs:
        a, b = a or "(none)", b or "(none)"
        departments.update((a, b))
        counts[(a, b)] += 1
        if a != b:
            counts[(b, a)] += 1
    names = sorted(departments)
    top = max(counts.values(), default=0)

    def heat(n: int) -> int:
        return 0 if not n else max(1, round(HEAT_LEVELS * n / top))

    rows = [{"department": d, "cells": [{"with": e, "count": counts[(d, e)], "heat": heat(counts[(d, e)])}
                                        for e in names]} for d in names]
    return {"departments": names, "rows": rows, "total": sum(counts[(a, b)] for a, b in counts if a <= b)}


def matrix_of_matches(matches: list[dict[str, Any]]) -> dict[str, Any]:
    return department_matrix((m["department_a"], m["department_b"]) for m in matches if m["status"] in FORMED)


def matrix_of_counts(department_pairs: list[list[Any]]) -> dict[str, Any]:
    """The matrix from the matcher's counts of formed pairs by department pair (`[a, b, n]`)."""
    return department_matrix((str(a), str(b)) for a, b, n in department_pairs for _ in range(int(n)))


def matrix_table(matrix: dict[str, Any]) -> Table:
    columns = [Column("department", "Department"), *(Column(d, d, True) for d in matrix["departments"])]
    rows = [{"department": r["department"], **{c["with"]: c["count"] for c in r["cells"]}} for r in matrix["rows"]]
    return Table("matrix", "Pairs by department", columns, rows, empty="No pairs yet.")


def _teaching(items: list[dict[str, Any]]) -> list[str]:
    return [f"{t['skill']} ({t['goal']})" if t.get("goal") else t["skill"] for t in items]


def _factors(explanation: list[dict[str, Any]]) -> list[str]:
    return [f"{f['factor']} = {f['value']:.2f}" for f in explanation]


def balance_text(b: dict[str, Any] | None, name_a: str, name_b: str) -> str:
    if not b:
        return "no sessions yet"
    ab, ba = b["a_teaches_b"], b["b_teaches_a"]
    share = b.get("share_taught_by_a")
    split = f"{name_a} taught {round(share * 100)}%" if share is not None else "no teaching session held yet"
    return f"{name_a}→{name_b}: {ab['held']} held; {name_b}→{name_a}: {ba['held']} held; {split}"


def next_session_text(schedule: dict[str, Any] | None, names: dict[str, str]) -> str:
    if not schedule:
        return "not scheduled yet"
    if schedule["status"] == "unschedulable":
        return "unschedulable"
    nxt = schedule.get("next_session")
    if not nxt:
        return "no session left"
    when = nxt["starts_at"][:16].replace("T", " ") + " UTC"
    if nxt["kind"] == "kickoff":
        return f"{when}, kickoff"
    return f"{when}, {names.get(nxt['teacher'], nxt['teacher'])} teaches"


def pairs_table(matches: list[dict[str, Any]], schedules: list[dict[str, Any]],
                partnerships: list[dict[str, Any]]) -> Table:
    schedule_of = {s["match_id"]: s for s in schedules}
    balance_of = {p["match_id"]: p for p in partnerships}
    rows = []
    for m in matches:
        if m["status"] not in ("accepted", "ended"):
            continue
        names = {m["person_a"]: m["name_a"], m["person_b"]: m["name_b"]}
        rows.append({
            "match_id": m["match_id"], "status": "running" if m["status"] == "accepted" else "ended",
            "person_a": f"{m['name_a']} ({m['department_a']})", "person_b": f"{m['name_b']} ({m['department_b']})",
            "score": m["score"], "explanation": _factors(m.get("explanation", [])),
            "a_teaches_b": _teaching(m.get("a_teaches_b", [])), "b_teaches_a": _teaching(m.get("b_teaches_a", [])),
            "next_session": (next_session_text(schedule_of.get(m["match_id"]), names)
                             if m["status"] == "accepted" else ""),
            "balance": balance_text(balance_of.get(m["match_id"]), m["name_a"], m["name_b"]),
            "share_taught_by_a": (balance_of.get(m["match_id"]) or {}).get("share_taught_by_a"),
        })
    return Table("pairs", "Pairs", [
        Column("person_a", "Partner A"), Column("person_b", "Partner B"), Column("status", "Status"),
        Column("score", "Score", True), Column("explanation", "Score, factor by factor"),
        Column("a_teaches_b", "A teaches B"), Column("b_teaches_a", "B teaches A"),
        Column("next_session", "Next session"), Column("balance", "Learning balance")],
        rows, empty="No partnership yet.")


def health(partnerships: list[dict[str, Any]], schedules: list[dict[str, Any]], failed: list[dict[str, Any]],
           names: dict[str, str], program_people: set[str]) -> dict[str, Table]:
    def who(pid: str) -> str:
        return names.get(pid) or pid

    flagged = [{"kind": f["kind"].replace("_", "-"), "pair": f"{who(p['person_a'])} & {who(p['person_b'])}",
                "reason": f["reason"], "since": f["raised_at"][:10], "match_id": p["match_id"]}
               for p in partnerships if p["status"] == "active" for f in p.get("flag_details", [])]
    unschedulable = [{"pair": f"{who(s['person_a'])} & {who(s['person_b'])}", "reason": s.get("reason") or "",
                      "suggestion": s.get("suggestion") or "", "match_id": s["match_id"]}
                     for s in schedules if s["status"] == "unschedulable"]
    failures = [{"person": who(f["person_id"]), "channel": f["channel"], "kind": f["kind"],
                 "error": f.get("last_error") or "", "when": (f.get("finished_at") or f.get("created_at") or "")[:16]}
                for f in failed if f["person_id"] in program_people]
    return {
        "flagged": Table("flagged", "One-sided and fizzling partnerships", [
            Column("kind", "Flag"), Column("pair", "Pair"), Column("reason", "Why"), Column("since", "Since")],
            sorted(flagged, key=lambda r: (r["kind"], r["pair"])), empty="No partnership is one-sided or fizzling."),
        "unschedulable": Table("unschedulable", "Unschedulable pairs", [
            Column("pair", "Pair"), Column("reason", "Reason"), Column("suggestion", "Suggestion")],
            unschedulable, empty="Every accepted pair has a schedule."),
        "failed": Table("failed", "Failed notifications", [
            Column("person", "Person"), Column("channel", "Channel"), Column("kind", "Message"),
            Column("error", "Error"), Column("when", "When (UTC)")], failures, empty="No notification failed."),
    }


def outcomes(result: dict[str, Any]) -> dict[str, Any]:
    ends = Table("endings", "Endings and their reasons",
                 [Column("reason", "Reason"), Column("count", "Partnerships", True)],
                 [{"reason": r.replace("_", " "), "count": n} for r, n in result.get("ended_by_reason", {}).items()],
                 empty="No partnership has ended.")
    histogram = result.get("balance_histogram", [])
    balance = Table("balance", "Balance distribution (share of teaching by partner A)", [
        Column("share_taught_by_a", "Share taught by A"), Column("partnerships", "Partnerships", True)], histogram)
    rematch = result.get("rematch", {})
    return {
        "both_learning_share": result.get("both_learning_share"), "held_session_rate": result.get("held_session_rate"),
        "partnerships": result.get("partnerships", 0), "active": result.get("active", 0),
        "sessions_held": result.get("sessions_held", 0), "sessions_due": result.get("sessions_due", 0),
        "ended": result.get("ended", 0), "ended_successfully": result.get("ended_successfully", 0),
        "rematched": rematch.get("rematched", 0), "waiting": rematch.get("waiting", 0),
        "median_hours_to_rematch": rematch.get("median_hours_to_rematch"),
        "endings": ends, "balance": balance,
        "chart": {"labels": [h["share_taught_by_a"] for h in histogram],
                  "values": [h["partnerships"] for h in histogram]},
    }


def percent(value: float | None) -> str:
    return "–" if value is None else f"{round(value * 100)}%"
