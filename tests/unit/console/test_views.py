"""The console's view models and tables: counts, coverage, the heatmap, pairs, health, CSV."""

from datetime import UTC, datetime, timedelta

from services.console.domain import admin
from services.console.domain.mine import my_mentoring
from services.console.domain.tables import Column, Table

T0 = datetime(2027, 1, 4, 9, tzinfo=UTC)


def match(mid, a, b, status, *, dept_a="Finance", dept_b="Marketing", hours=0.0, reason=""):
    return {"match_id": mid, "person_a": a, "person_b": b, "name_a": a.title(), "name_b": b.title(),
            "department_a": dept_a, "department_b": dept_b, "status": status, "score": 0.8, "reason": reason,
            "a_teaches_b": [{"skill": "sql", "goal": "write reports"}],
            "b_teaches_a": [{"skill": "python", "goal": ""}],
            "explanation": [{"factor": "value_a_to_b", "value": 0.9}], "accepted_by": [],
            "created_at": T0.isoformat(), "updated_at": (T0 + timedelta(hours=hours)).isoformat(),
            "expires_at": (T0 + timedelta(days=7)).isoformat()}


PEOPLE = [{"person_id": p, "display_name": p.title(), "department": d, "active": active, "timezone": "UTC"}
          for p, d, active in (("a", "Finance", True), ("b", "Marketing", True), ("c", "Finance", True),
                               ("d", "Sales", True), ("e", "Sales", False))]


def test_overview_shows_the_services_figures_and_one_page_of_each_table():
    summary = {"matches": {"accepted": 1, "declined": 1, "expired": 1, "ended": 1},
               "decline_reasons": {"too busy": 1}, "median_hours_to_match": 2.0, "cohort": None}
    unmatched = {"total": 2, "people": [
        {"person_id": "c", "display_name": "C", "department": "Finance", "reason": "no shared language"},
        {"person_id": "d", "display_name": "", "department": "Sales", "reason": "no eligible partner"}]}
    declined = {"total": 1, "matches": [match("m2", "c", "d", "declined", reason="too busy")]}
    pending = {"total": 250, "matches": [match(f"p{i}", "a", "b", "proposed") for i in range(100)]}
    view = admin.overview({"program_id": "p", "enrolled": 5, "active": 4}, summary, unmatched, declined, pending,
                          page=2, size=100)
    assert (view["enrolled"], view["active"], view["matched_people"]) == (5, 4, 2)
    assert view["proposals"] == {"pending": 0, "accepted": 2, "declined": 1, "expired": 1, "withdrawn": 0}
    assert view["coverage"] == 0.5  # two of the four active people have a partner or a pending proposal
    reasons = {r["person"]: r["reason"] for r in view["unmatched"].rows}
    assert reasons == {"C": "no shared language", "d": "no eligible partner"}
    assert view["declined"].rows == [{"pair": "C & D", "reason": "too busy"}]
    assert view["decline_reasons"] == {"too busy": 1} and view["median_hours_to_match"] == 2.0
    assert (view["pending"].total, view["pending"].page, view["pending"].pages) == (250, 2, 3)
    assert len(view["pending"].rows) == 100  # the service's page, shown as it came


def test_the_matrix_from_the_matchers_counts():
    m = admin.matrix_of_counts([["Finance", "Sales", 2], ["Finance", "Finance", 1]])
    cells = {(r["department"], c["with"]): c["count"] for r in m["rows"] for c in r["cells"]}
    assert cells[("Finance", "Sales")] == cells[("Sales", "Finance")] == 2 and m["total"] == 3


def test_the_heatmap_is_symmetric_with_same_department_pairs_once():
    m = admin.department_matrix([("Finance", "Sales"), ("Finance", "Finance"), ("Sales", "Finance")])
    cells = {(r["department"], c["with"]): (c["count"], c["heat"]) for r in m["rows"] for c in r["cells"]}
    assert cells[("Finance", "Sales")] == cells[("Sales", "Finance")] == (2, 5)
    assert cells[("Finance", "Finance")] == (1, 2) and cells[("Sales", "Sales")] == (0, 0)
    assert m["total"] == 3


def test_the_matrix_counts_formed_pairs_only():
    matches = [match("m1", "a", "b", "accepted"), match("m2", "c", "d", "declined", dept_b="Sales"),
               match("m3", "a", "d", "proposed", dept_b="Sales")]
    m = admin.matrix_of_matches(matches)
    assert m["departments"] == ["Finance", "Marketing", "Sales"] and m["total"] == 2


def test_pairs_show_factors_teaching_next_session_and_balance():
    schedules = [{"match_id": "m1", "status": "active", "next_session": {
        "kind": "teaching", "starts_at": "2027-01-11T10:00:00+00:00", "teacher": "b"}}]
    books = [{"match_id": "m1", "person_a": "a", "person_b": "b", "share_taught_by_a": 0.25, "sessions_held": 5,
              "a_teaches_b": {"held": 1}, "b_teaches_a": {"held": 3}}]
    [row] = admin.pairs_table([match("m1", "a", "b", "accepted"), match("m2", "c", "d", "proposed")],
                              schedules, books).rows
    assert row["explanation"] == ["value_a_to_b = 0.90"]
    assert row["a_teaches_b"] == ["sql (write reports)"] and row["b_teaches_a"] == ["python"]
    assert row["next_session"] == "2027-01-11 10:00 UTC, B teaches"
    assert row["balance"] == "A→B: 1 held; B→A: 3 held; A taught 25%"


def test_health_lists_flags_unschedulable_pairs_and_failures_of_the_program_only():
    partnerships = [{"match_id": "m1", "person_a": "a", "person_b": "b", "status": "active", "flag_details": [
        {"kind": "fizzling", "reason": "2 sessions missed", "raised_at": "2027-02-01T00:00:00+00:00"}]},
        {"match_id": "m2", "person_a": "c", "person_b": "d", "status": "ended", "flag_details": [
            {"kind": "one_sided", "reason": "old", "raised_at": "2027-02-01T00:00:00+00:00"}]}]
    schedules = [{"match_id": "m3", "person_a": "c", "person_b": "d", "status": "unschedulable",
                  "reason": "no overlap", "suggestion": "add a Tuesday morning"}]
    failed = [{"person_id": "a", "channel": "webhook", "kind": "match_proposed", "last_error": "HTTP 500"},
              {"person_id": "someone-else", "channel": "email", "kind": "x"}]
    tables = admin.health(partnerships, schedules, failed, {"a": "Ana"}, {"a", "b", "c", "d"})
    assert [r["pair"] for r in tables["flagged"].rows] == ["Ana & b"]
    assert tables["unschedulable"].rows[0]["suggestion"] == "add a Tuesday morning"
    assert [r["person"] for r in tables["failed"].rows] == ["Ana"]


def test_csv_export_has_the_columns_and_defuses_formulas():
    table = Table("t", "T", [Column("a", "A"), Column("b", "B", True)],
                  [{"a": "=HYPERLINK(\"x\")", "b": -1.5}, {"a": ["x", "y"], "b": None}])
    assert table.to_csv() == "A,B\r\n\"'=HYPERLINK(\"\"x\"\")\",-1.50\r\nx; y,\r\n"


def test_my_mentoring_shows_my_side_in_my_time_zone():
    now = T0 + timedelta(days=8)
    m = match("m1", "a", "b", "accepted")
    sessions = [{"session_id": f"m1-s0{i}", "number": i, "kind": "kickoff" if i == 1 else "teaching",
                 "starts_at": (T0 + timedelta(days=7 * (i - 1))).isoformat(),
                 "ends_at": (T0 + timedelta(days=7 * (i - 1), hours=1)).isoformat(), "mode": "video",
                 "teacher": None if i == 1 else ("a" if i % 2 else "b"), "agenda": []} for i in (1, 2, 3)]
    book = {"match_id": "m1", "person_a": "a", "person_b": "b", "sessions_held": 1, "checked_in_sessions": ["m1-s01"],
            "a_teaches_b": {"held": 0, "learned_avg": None}, "b_teaches_a": {"held": 0, "learned_avg": None},
            "checkins": [{"session_id": "m1-s01", "happened": "yes", "learned": 4, "helped": 5}]}
    view = my_mentoring("b", {"timezone": "America/New_York", "display_name": "Bea"},
                        [m, match("m2", "c", "b", "proposed")], {"m1": {"status": "active", "sessions": sessions}},
                        [book], now)
    [current] = view["current"]
    assert current["partner"] == "A" and current["i_teach"] == m["b_teaches_a"]
    assert [s["session_id"] for s in current["to_check_in"]] == ["m1-s02"]  # s01 checked in, s03 not started
    assert current["next_sessions"][0]["when"] == "Mon 18 Jan 2027, 04:00"  # 09:00 UTC in New York
    assert current["next_sessions"][0]["who"] == "A teaches"
    assert [p["partner"] for p in view["proposals"]] == ["C"]
    assert view["checkins"].rows[0]["learned"] == 4
