"""Hard eligibility rules for one pair, as reasons "<code>: <detail>"; codes are stable. The rules
themselves are the kernel's (`kernel.assess`): this module only words them."""

from collections.abc import Callable, Collection, Mapping
from datetime import datetime

from services.matcher.domain.kernel import (
    DIFFERENT_ORG,
    INACTIVE,
    INSUFFICIENT_OVERLAP,
    MANAGER_RELATIONSHIP,
    NO_CAPACITY,
    NO_LOAD,
    NO_SHARED_LANGUAGE,
    NO_SHARED_MEETING_MODE,
    NO_VALUE,
    NOT_IN_PROGRAM,
    PREVIOUSLY_PAIRED,
    REASON_CODES,
    SAME_DEPARTMENT,
    SAME_PERSON,
    assess_pair,
)
from services.matcher.domain.model import Person, Program
from shared.availability import Overlap, overlap, program_start

__all__ = ["REASON_CODES", "ineligibility", "pair_overlap", "reason_code"]


def reason_code(reason: str) -> str:
    return reason.split(":", 1)[0]


def pair_overlap(a: Person, b: Person, program: Program, now: datetime | None = None) -> Overlap:
    start = program_start(program.starts_on, now)
    return overlap(a.timezone, a.availability, b.timezone, b.availability, start, program.duration_weeks)


def ineligibility(
    a: Person,
    b: Person,
    program: Program,
    *,
    blocked_pairs: Collection[frozenset[str]] = frozenset(),
    load: Mapping[str, int] = NO_LOAD,
    now: datetime | None = None,
) -> list[str]:
    """Every hard rule the pair breaks (empty: eligible). `load` counts pending + active
    partnerships; `blocked_pairs` holds pairs declined, expired or ended before; `now` is the
    program start when the program has no `starts_on`."""
    failed = assess_pair(a, b, program, blocked_pairs=blocked_pairs, load=load, now=now).failed(0)
    return [_reason(code, side, a, b, program, load, now) for code, side in failed]


def _reason(code: str, side: str, a: Person, b: Person, program: Program, load: Mapping[str, int],
            now: datetime | None) -> str:
    p, q = (b, a) if side == "b" else (a, b)
    details: dict[str, Callable[[], str]] = {
        SAME_PERSON: lambda: a.person_id,
        DIFFERENT_ORG: lambda: f"{a.org_id} / {b.org_id} / program {program.org_id}",
        NOT_IN_PROGRAM: lambda: f"{p.person_id} is not in {program.program_id}",
        INACTIVE: lambda: p.person_id,
        MANAGER_RELATIONSHIP: lambda: "one manages the other",
        PREVIOUSLY_PAIRED: lambda: "declined, expired or ended before",
        NO_CAPACITY: lambda: f"{p.person_id} has {load.get(p.person_id, 0)} of {p.max_partners} partners",
        NO_SHARED_LANGUAGE: lambda: f"{sorted(a.languages)} vs {sorted(b.languages)}",
        NO_SHARED_MEETING_MODE: lambda: "in_person needs the same site",
        INSUFFICIENT_OVERLAP: lambda: (f"{pair_overlap(a, b, program, now).slot_minutes} < "
                                       f"{program.session_minutes} minutes in the worst week"),
        SAME_DEPARTMENT: lambda: "cross_department is required",
        NO_VALUE: lambda: f"{p.person_id} offers nothing {q.person_id} wants",
    }
    return f"{code}: {details[code]()}"
