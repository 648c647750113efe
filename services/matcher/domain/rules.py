"""Hard eligibility rules for a pair. Each reason reads "<code>: <detail>"; codes are stable."""

from collections.abc import Collection, Mapping
from datetime import datetime

from shared.availability import Overlap, overlap, program_start
from services.matcher.domain.model import Person, Program
from services.matcher.domain.scoring import value

SAME_PERSON = "same_person"
DIFFERENT_ORG = "different_org"
NOT_IN_PROGRAM = "not_in_program"
INACTIVE = "inactive"
MANAGER_RELATIONSHIP = "manager_relationship"
PREVIOUSLY_PAIRED = "previously_paired"
NO_CAPACITY = "no_capacity"
NO_SHARED_LANGUAGE = "no_shared_language"
NO_SHARED_MEETING_MODE = "no_shared_meeting_mode"
INSUFFICIENT_OVERLAP = "insufficient_overlap"
SAME_DEPARTMENT = "same_department"
NO_VALUE = "no_value"

REASON_CODES: tuple[str, ...] = (
    SAME_PERSON, DIFFERENT_ORG, NOT_IN_PROGRAM, INACTIVE, MANAGER_RELATIONSHIP, PREVIOUSLY_PAIRED, NO_CAPACITY,
    NO_SHARED_LANGUAGE, NO_SHARED_MEETING_MODE, INSUFFICIENT_OVERLAP, SAME_DEPARTMENT, NO_VALUE,
)  # fmt: skip


def reason_code(reason: str) -> str:
    return reason.split(":", 1)[0]


def shared_modes(a: Person, b: Person) -> frozenset[str]:
    """Meeting modes both accept; in_person only when both are on the same (non-empty) site."""
    modes = a.meeting_modes & b.meeting_modes
    if "in_person" in modes and not (a.site and a.site.casefold() == b.site.casefold()):
        modes -= {"in_person"}
    return modes


def pair_overlap(a: Person, b: Person, program: Program, now: datetime | None = None) -> Overlap:
    start = program_start(program.starts_on, now)
    return overlap(a.timezone, a.availability, b.timezone, b.availability, start, program.duration_weeks)


def ineligibility(
    a: Person,
    b: Person,
    program: Program,
    *,
    blocked_pairs: Collection[frozenset[str]] = frozenset(),
    load: Mapping[str, int] = {},  # noqa: B006 - read only
    now: datetime | None = None,
) -> list[str]:
    """Every hard rule the pair breaks (empty: eligible). `load` counts pending + active
    partnerships; `blocked_pairs` holds pairs declined, expired or ended before; `now` is the
    program start when the program has no `starts_on`."""
    reasons: list[str] = []
    if a.person_id == b.person_id:
        reasons.append(f"{SAME_PERSON}: {a.person_id}")
    if not (a.org_id == b.org_id == program.org_id):
        reasons.append(f"{DIFFERENT_ORG}: {a.org_id} / {b.org_id} / program {program.org_id}")
    for p in (a, b):
        if program.program_id not in p.program_ids:
            reasons.append(f"{NOT_IN_PROGRAM}: {p.person_id} is not in {program.program_id}")
    for p in (a, b):
        if not p.active:
            reasons.append(f"{INACTIVE}: {p.person_id}")
    if a.manager_id == b.person_id or b.manager_id == a.person_id:
        reasons.append(f"{MANAGER_RELATIONSHIP}: one manages the other")
    if frozenset((a.person_id, b.person_id)) in blocked_pairs:
        reasons.append(f"{PREVIOUSLY_PAIRED}: declined, expired or ended before")
    for p in (a, b):
        used = load.get(p.person_id, 0)
        if used >= p.max_partners:
            reasons.append(f"{NO_CAPACITY}: {p.person_id} has {used} of {p.max_partners} partners")
    if not a.languages & b.languages:
        reasons.append(f"{NO_SHARED_LANGUAGE}: {sorted(a.languages)} vs {sorted(b.languages)}")
    if not shared_modes(a, b):
        reasons.append(f"{NO_SHARED_MEETING_MODE}: in_person needs the same site")
    slot = pair_overlap(a, b, program, now).slot_minutes
    if slot < program.session_minutes:
        reasons.append(f"{INSUFFICIENT_OVERLAP}: {slot} < {program.session_minutes} minutes in the worst week")
    if program.cross_department == "required" and a.department.casefold() == b.department.casefold():
        reasons.append(f"{SAME_DEPARTMENT}: cross_department is required")
    for x, y in ((a, b), (b, a)):
        if value(x, y) <= 0:
            reasons.append(f"{NO_VALUE}: {x.person_id} offers nothing {y.person_id} wants")
    return reasons
