"""`reciprocal match FILE.jsonl`: offline whole-cohort optimisation, checked against networkx."""

import json
from dataclasses import replace
from datetime import UTC, datetime

import networkx as nx
import pytest
from typer.testing import CliRunner

from reciprocal.cli import app
from services.matcher.domain import ineligibility, person_from_profile, program_from_event
from services.matcher.domain.generator import generate_cohort, generate_program

NOW = "2027-01-11T00:00:00+00:00"
runner = CliRunner()


def profile_lines(n: int, seed: int, *, max_partners: int | None = 1) -> list[dict]:
    out = []
    for event in generate_cohort(n, seed):
        doc = json.loads(event.model_dump_json())
        for key in ("event_id", "occurred_at", "version", "event_type", "schema_version", "changed_fields"):
            doc.pop(key)
        if max_partners is not None:
            doc["max_partners"] = max_partners
        out.append(doc)
    return out


def write(tmp_path, lines: list[dict | str]):
    path = tmp_path / "cohort.jsonl"
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def run(*args: str) -> dict:
    result = runner.invoke(app, ["match", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def networkx_optimum(graph: list[dict]) -> float:
    g = nx.Graph()
    g.add_weighted_edges_from((e["person_a"], e["person_b"], e["weight"]) for e in graph)
    return sum(g[a][b]["weight"] for a, b in nx.max_weight_matching(g))


def check_pairs(doc: dict, profiles: list[dict], program) -> None:
    people = {p["person_id"]: person_from_profile(_event(p)) for p in profiles}
    seen: dict[str, int] = {}
    edges = {(e["person_a"], e["person_b"]): e["weight"] for e in doc.get("graph", [])}
    for pair in doc["pairs"]:
        a, b = people[pair["person_a"]], people[pair["person_b"]]
        assert ineligibility(a, b, program, now=datetime.fromisoformat(NOW)) == []
        assert pair["a_teaches_b"] and pair["b_teaches_a"]  # two-way
        factors = {f["factor"]: f["value"] for f in pair["explanation"]}
        assert factors["value_a_to_b"] > 0 and factors["value_b_to_a"] > 0
        if edges:
            assert pair["score"] == edges[(a.person_id, b.person_id)]
        for pid in (a.person_id, b.person_id):
            seen[pid] = seen.get(pid, 0) + 1
            assert seen[pid] <= people[pid].max_partners
    assert doc["objective"] == pytest.approx(sum(p["score"] for p in doc["pairs"]), rel=1e-12)


def _event(doc: dict):
    from shared.contract.events import ProfileChanged

    return ProfileChanged.model_validate({**doc, "version": 1})


def test_match_equals_networkx_on_its_own_graph_and_every_pair_is_eligible(tmp_path):
    profiles = profile_lines(400, 21)
    program_event = json.loads(generate_program(session_minutes=45).model_dump_json())
    path = write(tmp_path, [program_event, *profiles])
    doc = run(str(path), "--graph", "--stability")
    program = program_from_event(generate_program(session_minutes=45))
    assert doc["exact"] is True and doc["program"]["session_minutes"] == 45
    assert len(doc["pairs"]) > 50 and len(doc["graph"]) > len(doc["pairs"])
    check_pairs(doc, profiles, program)
    assert doc["objective"] == pytest.approx(networkx_optimum(doc["graph"]), rel=1e-6)
    coverage = doc["coverage"]
    matched = {x for p in doc["pairs"] for x in (p["person_a"], p["person_b"])}
    assert coverage["matched"] == len(matched)
    assert coverage["share"] == pytest.approx(len(matched) / coverage["participants"])
    assert set(coverage["unmatched"]).isdisjoint(matched)
    assert coverage["participants"] == len(matched) + len(coverage["unmatched"])
    assert all(reasons for reasons in coverage["unmatched"].values())
    assert sum(sum(row.values()) for row in doc["department_matrix"].values()) >= len(doc["pairs"])
    for x in doc["blocking_pairs"]:
        assert x["score"] > x["a_worst"] and x["score"] > x["b_worst"]


def test_fast_mode_is_near_the_optimum_and_below_its_bound(tmp_path):
    profiles = profile_lines(400, 22)
    path = write(tmp_path, profiles)
    doc = run(str(path), "--graph", "--fast", "--now", NOW)
    assert doc["mode"] == "fast"
    optimum = networkx_optimum(doc["graph"])
    assert doc["objective"] >= 0.995 * optimum
    assert doc["objective"] <= doc["upper_bound"] + 1e-9
    if doc["exact"]:
        assert doc["objective"] == pytest.approx(optimum, rel=1e-6)
    program = replace(program_from_event(generate_program()), starts_on=None)
    check_pairs(doc, profiles, program)


def test_program_from_options_and_capacities(tmp_path):
    profiles = profile_lines(250, 23, max_partners=None)
    other = {**profiles[0], "person_id": "elsewhere", "program_ids": ["p2"]}
    path = write(tmp_path, [*profiles, other, ""])
    doc = run(str(path), "--cross-department", "required", "--session-minutes", "30", "--now", NOW)
    assert doc["program"]["program_id"] == "p1" and doc["program"]["org_id"] == "acme"
    assert doc["program"]["cross_department"] == "required" and doc["program"]["session_minutes"] == 30
    assert doc["program"]["starts_on"] == NOW
    program = program_from_event(generate_program(cross_department="required", session_minutes=30,
                                                  starts_on=datetime(2027, 1, 11, tzinfo=UTC)))
    check_pairs(doc, profiles, program)
    department = {p["person_id"]: p["department"] for p in profiles}
    assert all(department[p["person_a"]] != department[p["person_b"]] for p in doc["pairs"])
    assert "elsewhere" not in doc["coverage"]["unmatched"]
    # the same input gives the same output
    assert run(str(path), "--cross-department", "required", "--session-minutes", "30", "--now", NOW) == doc


def test_profiles_submitted_lines_and_the_last_line_per_person_win(tmp_path):
    profiles = profile_lines(120, 24)
    first = {**profiles[0], "event_type": "profiles.submitted", "active": True}
    gone = {**profiles[0], "active": False}
    doc = run(str(write(tmp_path, [first, *profiles[1:], gone])), "--now", NOW)
    assert profiles[0]["person_id"] not in {x for p in doc["pairs"] for x in (p["person_a"], p["person_b"])}
    assert profiles[0]["person_id"] not in doc["coverage"]["unmatched"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        ('{"org_id": "acme"}', "line 2: invalid profile: person_id"),
        ('{"org_id": "acme", "person_id": "x", "career_stage": "intern"}', "line 2: invalid profile: career_stage"),
        ('{"event_type": "matches.proposed"}', "line 2: unsupported event_type"),
        ('{"event_type": "programs.configured", "org_id": "acme", "program_id": "p1", "session_minutes": 5}',
         "line 2: invalid program: session_minutes"),
        ("[1, 2]", "line 2: expected a JSON object"),
    ],
)
def test_a_bad_line_is_named_and_exits_2(tmp_path, line, message):
    path = write(tmp_path, [profile_lines(1, 1)[0], line])
    result = runner.invoke(app, ["match", str(path)])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_bad_options_and_missing_file_exit_2(tmp_path):
    path = write(tmp_path, profile_lines(3, 1))
    for args in (["--cross-department", "sometimes"], ["--now", "yesterday"], ["--program-id", "nope"],
                 ["--session-minutes", "5"]):
        result = runner.invoke(app, ["match", str(path), *args])
        assert result.exit_code == 2, args
        assert "reciprocal match:" in result.stderr
    result = runner.invoke(app, ["match", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2 and "cannot read" in result.stderr


def test_a_cohort_program_line_with_its_close_and_objective_prints_as_json(tmp_path):
    program = {"event_type": "programs.configured", "org_id": "acme", "program_id": "prog", "name": "Cohort",
               "matching": "cohort", "registration_closes_at": "2027-01-04T09:00:00Z", "objective": "coverage",
               "weights": {"cross_department": 2, "overlap": 0}}
    profiles = [{**p, "org_id": "acme", "program_ids": ["prog"]} for p in profile_lines(40, 3)]
    doc = run(str(write(tmp_path, [program, *profiles])), "--now", NOW)
    assert doc["program"]["matching"] == "cohort" and doc["program"]["objective"] == "coverage"
    assert doc["program"]["registration_closes_at"].startswith("2027-01-04T09:00:00")
    assert doc["program"]["bonus_weights"] == [2.0, 1.0, 1.0, 0.0]
