"""`reciprocal match FILE.jsonl`: the whole-cohort optimiser, offline, on a file of profiles.

Each non-empty line of FILE is one JSON object:

* a profile, in the shape of `profiles.submitted` / `profiles.changed` (org_id, person_id,
  program_ids, ...). `version` defaults to 1 and `event_type` may be absent. A person who appears
  twice is taken from their last line, as the matcher does with `profiles.changed`.
* optionally a program, `{"event_type": "programs.configured", ...}`. Without one (or without one
  for `--program-id`) the program is built from the options: program id = the most common program
  id in the file, org = the most common org among its members, cross_department `preferred`,
  60-minute sessions, 12 weeks, starting at `--now`.

The availability overlap rule depends on the program's dates (daylight-saving changes), so a
program without `starts_on` starts at `--now` (default: the current time). Pass `--now` for
reproducible results.

The output is one JSON document: the pairs with their scores, teaching directions and factor-by-factor
explanations, the objective (the sum of the pair scores), coverage (the share of participants matched
and, for everyone unmatched, why), the department-by-department matrix, whether the objective is
proven optimal (`exact`), and on request every candidate edge (`graph`: the weights are exactly the
scores the objective sums) and the blocking pairs (`blocking_pairs`: two people who both
score each other higher than a current partner, or have capacity left).
"""

import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from services.matcher.domain.cohort import blocking_pairs, candidate_graph, solve
from services.matcher.domain.model import Person, Program, person_from_profile, program_from_event
from shared.contract.events import ProfileChanged, ProgramConfigured

PROFILE_TYPES = {None, "profiles.submitted", "profiles.changed"}
PROGRAM_TYPE = "programs.configured"
DEFAULT_SESSION_MINUTES = 60
DEFAULT_DURATION_WEEKS = 12
CROSS_DEPARTMENT = ("required", "preferred", "any")


class MatchInputError(Exception):
    """The input cannot be used; the message names the line."""


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(line)'}: {e['msg']}" for e in exc.errors())


def read_events(path: Path) -> tuple[list[ProfileChanged], list[ProgramConfigured]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MatchInputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    profiles: list[ProfileChanged] = []
    programs: list[ProgramConfigured] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise MatchInputError(f"line {number}: not valid JSON: {exc.msg} (column {exc.colno})") from exc
        if not isinstance(doc, dict):
            raise MatchInputError(f"line {number}: expected a JSON object, got {type(doc).__name__}")
        kind = doc.get("event_type")
        try:
            if kind == PROGRAM_TYPE:
                doc.setdefault("name", doc.get("program_id") or "program")
                programs.append(ProgramConfigured.model_validate(doc))
            elif kind in PROFILE_TYPES:
                doc = {**doc, "event_type": "profiles.changed"}
                doc.setdefault("version", 1)
                profiles.append(ProfileChanged.model_validate(doc))
            else:
                raise MatchInputError(f"line {number}: unsupported event_type {kind!r}; expected a profile "
                                      f"(profiles.submitted / profiles.changed) or {PROGRAM_TYPE}")
        except ValidationError as exc:
            what = "program" if kind == PROGRAM_TYPE else "profile"
            raise MatchInputError(f"line {number}: invalid {what}: {_errors(exc)}") from exc
    return profiles, programs


def build_program(
    profiles: list[ProfileChanged],
    programs: list[ProgramConfigured],
    *,
    program_id: str | None = None,
    cross_department: str | None = None,
    session_minutes: int | None = None,
) -> Program:
    """The configured program (the last `programs.configured` for the id), or one from the options.
    Options that are given override the configured values."""
    if cross_department is not None and cross_department not in CROSS_DEPARTMENT:
        raise MatchInputError(f"--cross-department must be one of {', '.join(CROSS_DEPARTMENT)}")
    if session_minutes is not None and not 15 <= session_minutes <= 240:
        raise MatchInputError("--session-minutes must be between 15 and 240")
    configured = {p.program_id: p for p in programs}
    if program_id is None:
        if programs:
            program_id = programs[-1].program_id
        else:
            counts = Counter(pid for p in profiles for pid in dict.fromkeys(p.program_ids))
            if not counts:
                raise MatchInputError("no program: the file has no programs.configured line and no profile "
                                      "names a program; pass --program-id")
            program_id = min(counts, key=lambda pid: (-counts[pid], pid))
    if program_id in configured:
        program = program_from_event(configured[program_id])
    else:
        orgs = Counter(p.org_id for p in profiles if program_id in p.program_ids)
        if not orgs:
            raise MatchInputError(f"program {program_id!r}: nobody in the file is enrolled in it")
        program = Program(program_id=program_id, org_id=min(orgs, key=lambda o: (-orgs[o], o)),
                          session_minutes=DEFAULT_SESSION_MINUTES, duration_weeks=DEFAULT_DURATION_WEEKS)
    if cross_department is not None:
        program = replace(program, cross_department=cross_department)
    if session_minutes is not None:
        program = replace(program, session_minutes=session_minutes)
    return program


def parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MatchInputError(f"--now: not an ISO 8601 date-time: {value!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def match_people(
    people: list[Person],
    program: Program,
    *,
    now: datetime,
    exact: bool | None = None,
    graph: bool = False,
    stability: bool = False,
) -> dict[str, Any]:
    """Optimise `people` for `program` and return the JSON document `reciprocal match` prints."""
    candidates = candidate_graph(people, program, now=now)
    result = solve(candidates, exact=exact)
    weight = {(a, b): w for a, b, w in result.graph}
    pairs = []
    for s in result.pairs:
        pairs.append({
            "person_a": s.person_a,
            "person_b": s.person_b,
            "score": weight[(s.person_a, s.person_b)],
            "a_teaches_b": [t.model_dump() for t in s.a_teaches_b],
            "b_teaches_a": [t.model_dump() for t in s.b_teaches_a],
            "explanation": [f.model_dump() for f in s.explanation],
        })  # fmt: skip
    doc: dict[str, Any] = {
        "program": {k: v.isoformat() if isinstance(v, datetime) else v
                    for k, v in {**program.to_doc(), "starts_on": program.starts_on or now}.items()},
        "now": now.isoformat(),
        "exact": result.exact,
        "mode": result.mode,
        "objective": float(sum(p["score"] for p in pairs)),
        "upper_bound": result.upper_bound,
        "pairs": pairs,
        "coverage": {
            "share": result.coverage,
            "participants": result.participants,
            "matched": result.matched,
            "unmatched": result.unmatched,
        },
        "department_matrix": result.department_matrix,
    }
    if graph:
        doc["graph"] = [{"person_a": a, "person_b": b, "weight": w} for a, b, w in result.graph]
    if stability:
        doc["blocking_pairs"] = [
            {"person_a": x.person_a, "person_b": x.person_b, "score": x.score, "a_worst": x.a_worst,
             "b_worst": x.b_worst}
            for x in blocking_pairs(result, people, program)
        ]  # fmt: skip
    return doc


def run_match(
    path: Path,
    *,
    graph: bool = False,
    stability: bool = False,
    exact: bool | None = None,
    program_id: str | None = None,
    cross_department: str | None = None,
    session_minutes: int | None = None,
    now: str | None = None,
) -> dict[str, Any]:
    """Read FILE, build the program, optimise. Raises MatchInputError for unusable input."""
    profiles, programs = read_events(path)
    program = build_program(profiles, programs, program_id=program_id, cross_department=cross_department,
                            session_minutes=session_minutes)
    at = parse_now(now)
    people = [person_from_profile(p, program.skill_aliases) for p in profiles]
    return match_people(people, program, now=at, exact=exact, graph=graph, stability=stability)
