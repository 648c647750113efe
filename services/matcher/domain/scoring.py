"""Two-way pair scores with their factor-by-factor explanation and what each side teaches the other.
The score itself is the kernel's (`kernel.assess`): harmonic mean of both one-way values plus small,
bounded bonuses."""

from dataclasses import dataclass, field
from datetime import datetime

from services.matcher.domain.kernel import (
    BONUS_CAREER_STAGE,
    BONUS_CROSS_DEPARTMENT,
    BONUS_FACTORS,
    BONUS_OVERLAP,
    BONUS_SHARED_INTERESTS,
    MAX_BONUS,
    OVERLAP_FULL_SESSIONS,
    SHARED_INTERESTS_FULL,
    Assessment,
    assess_pair,
    harmonic_mean,
)
from services.matcher.domain.model import Person, Program
from shared.availability import Overlap
from shared.contract.events import Factor, Teaching

__all__ = [
    "BONUS_CAREER_STAGE", "BONUS_CROSS_DEPARTMENT", "BONUS_OVERLAP", "BONUS_SHARED_INTERESTS", "MAX_BONUS",
    "OVERLAP_FULL_SESSIONS", "SHARED_INTERESTS_FULL", "Scored", "explained", "harmonic_mean", "score_pair",
    "teaches", "value",
]  # fmt: skip


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


def explained(result: Assessment, k: int, a: Person, b: Person) -> Scored:
    """Pair k of `result` (a on the rows side, b on the columns side) as a Scored, ids in order."""
    v_ab, v_ba = float(result.value_ab[k]), float(result.value_ba[k])
    if b.person_id < a.person_id:
        a, b, v_ab, v_ba = b, a, v_ba, v_ab
    explanation = [
        Factor(factor="value_a_to_b", value=v_ab),
        Factor(factor="value_b_to_a", value=v_ba),
        Factor(factor="harmonic_mean", value=float(result.harmonic[k])),
        *(Factor(factor=name, value=float(part[k])) for name, part in zip(BONUS_FACTORS, result.bonuses, strict=True)),
        *(Factor(factor=name.replace("bonus_", "weight_"), value=float(w))
          for name, w in zip(BONUS_FACTORS, result.weights, strict=True)),
        *(Factor(factor=f"weight_priority_{p}", value=float(w)) for p, w in enumerate(result.priority_weights, 1)),
    ]
    return Scored(person_a=a.person_id, person_b=b.person_id, score=float(result.score[k]), value_ab=v_ab,
                  value_ba=v_ba, a_teaches_b=teaches(a, b), b_teaches_a=teaches(b, a), explanation=explanation)


def value(a: Person, b: Person) -> float:
    """How well A's offers cover B's wants: sum(weight(priority) * level/5 over covered wants) /
    sum(weight(priority)), with the default weights 1, 2, 3 for priorities 1, 2, 3."""
    return float(assess_pair(a, b, _ANY_PROGRAM).value_ab[0])


_ANY_PROGRAM = Program(program_id="", org_id="")  # value depends on the two people only


def teaches(a: Person, b: Person) -> list[Teaching]:
    """What A can teach B, each naming B's goal, most wanted first."""
    levels = a.offer_levels
    wants = sorted((w for w in b.wants if w[0] in levels), key=lambda w: (-w[2], w[0]))
    return [Teaching(skill=skill, goal=goal or skill) for skill, goal, _ in wants]


def score_pair(
    a: Person,
    b: Person,
    program: Program,
    *,
    pair_overlap: Overlap | None = None,
    now: datetime | None = None,
) -> Scored:
    """Score a pair (order-independent). Bonuses count only when both directions have value.
    `pair_overlap` replaces the pair's weekly overlap behind the overlap bonus."""
    if b.person_id < a.person_id:
        a, b = b, a
    weekly = None if pair_overlap is None else pair_overlap.weekly_minutes
    return explained(assess_pair(a, b, program, weekly=weekly, now=now), 0, a, b)
