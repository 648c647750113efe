"""Two-way pair scoring: harmonic mean of both one-way values plus small, bounded bonuses."""

from dataclasses import dataclass, field
from datetime import datetime

from shared.availability import Overlap, overlap, program_start
from services.matcher.domain.model import Person, Program
from shared.contract.events import Factor, Teaching

BONUS_CROSS_DEPARTMENT = 0.06
BONUS_CAREER_STAGE = 0.06  # at the full distance early <-> executive
BONUS_SHARED_INTERESTS = 0.05  # at SHARED_INTERESTS_FULL shared interests
BONUS_OVERLAP = 0.05  # at OVERLAP_FULL_SESSIONS sessions' worth of weekly overlap
SHARED_INTERESTS_FULL = 3
OVERLAP_FULL_SESSIONS = 4
MAX_BONUS = BONUS_CROSS_DEPARTMENT + BONUS_CAREER_STAGE + BONUS_SHARED_INTERESTS + BONUS_OVERLAP


@dataclass(frozen=True)
class Scored:
    person_a: str  # person_a < person_b
    person_b: str
    score: float
    value_ab: float  # value(person_a -> person_b)
    value_ba: float
    a_teaches_b: list[Teaching] = field(default_factory=list, hash=False)
    b_teaches_a: list[Teaching] = field(default_factory=list, hash=False)
    explanation: list[Factor] = field(default_factory=list, hash=False)

    @property
    def pair(self) -> frozenset[str]:
        return frozenset((self.person_a, self.person_b))

    def partner_of(self, person_id: str) -> str:
        return self.person_b if person_id == self.person_a else self.person_a


def value(a: Person, b: Person) -> float:
    """How well A's offers cover B's wants: sum(priority * level/5 over covered wants) / sum(priority)."""
    total = sum(priority for _, _, priority in b.wants)
    if total == 0:
        return 0.0
    levels = a.offer_levels
    covered = sum(priority * (levels[skill] / 5) for skill, _, priority in b.wants if skill in levels)
    return covered / total


def teaches(a: Person, b: Person) -> list[Teaching]:
    """What A can teach B, each naming B's goal, most wanted first."""
    levels = a.offer_levels
    wants = sorted((w for w in b.wants if w[0] in levels), key=lambda w: (-w[2], w[0]))
    return [Teaching(skill=skill, goal=goal or skill) for skill, goal, _ in wants]


def harmonic_mean(x: float, y: float) -> float:
    return 2 * x * y / (x + y) if x > 0 and y > 0 else 0.0


def bonuses(
    a: Person, b: Person, program: Program, weekly_minutes: int
) -> tuple[float, float, float, float]:
    """(cross-department, career-stage distance, shared interests, overlap size), each bounded."""
    cross = (
        BONUS_CROSS_DEPARTMENT
        if program.cross_department != "any" and a.department.casefold() != b.department.casefold()
        else 0.0
    )
    stage = BONUS_CAREER_STAGE * abs(a.stage_index - b.stage_index) / 3
    shared = len(a.interests & b.interests)
    interests = BONUS_SHARED_INTERESTS * min(shared, SHARED_INTERESTS_FULL) / SHARED_INTERESTS_FULL
    full = OVERLAP_FULL_SESSIONS * program.session_minutes
    overlap_bonus = BONUS_OVERLAP * min(max(weekly_minutes, 0), full) / full
    return cross, stage, interests, overlap_bonus


def score_pair(
    a: Person,
    b: Person,
    program: Program,
    *,
    pair_overlap: Overlap | None = None,
    now: datetime | None = None,
) -> Scored:
    """Score a pair (order-independent). Bonuses count only when both directions have value."""
    if b.person_id < a.person_id:
        a, b = b, a
    if pair_overlap is None:
        start = program_start(program.starts_on, now)
        pair_overlap = overlap(a.timezone, a.availability, b.timezone, b.availability, start, program.duration_weeks)
    v_ab, v_ba = value(a, b), value(b, a)
    hm = harmonic_mean(v_ab, v_ba)
    parts = bonuses(a, b, program, pair_overlap.weekly_minutes) if hm > 0 else (0.0, 0.0, 0.0, 0.0)
    names = ("bonus_cross_department", "bonus_career_stage", "bonus_shared_interests", "bonus_overlap")
    explanation = [
        Factor(factor="value_a_to_b", value=v_ab),
        Factor(factor="value_b_to_a", value=v_ba),
        Factor(factor="harmonic_mean", value=hm),
        *(Factor(factor=n, value=v) for n, v in zip(names, parts, strict=True)),
    ]
    return Scored(
        person_a=a.person_id,
        person_b=b.person_id,
        score=hm + sum(parts),
        value_ab=v_ab,
        value_ba=v_ba,
        a_teaches_b=teaches(a, b),
        b_teaches_a=teaches(b, a),
        explanation=explanation,
    )
