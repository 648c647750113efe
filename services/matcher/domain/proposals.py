"""Deterministic proposal ids and the best partner for one person."""

import hashlib
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta

from services.matcher.domain.index import PoolIndex
from services.matcher.domain.model import Person, Program
from services.matcher.domain.scoring import Scored


def match_id(org_id: str, program_id: str, a_id: str, b_id: str) -> str:
    """The same pair in the same program always gets the same id, whichever side comes first."""
    low, high = sorted((a_id, b_id))
    return "m-" + hashlib.sha256(f"{org_id}|{program_id}|{low}|{high}".encode()).hexdigest()[:20]


def candidates(
    p: Person,
    pool: Iterable[Person],
    program: Program,
    *,
    blocked_pairs: Collection[frozenset[str]] = frozenset(),
    load: Mapping[str, int] = {},
    now: datetime | None = None,
) -> list[Scored]:
    """Every eligible partner of `p` in `pool`, best first (ties: smaller partner id)."""
    index = PoolIndex(program, pool, now=now)
    return index.scored(p, blocked_pairs=blocked_pairs, load=load)


def best_partner(
    p: Person,
    pool: Iterable[Person],
    program: Program,
    *,
    blocked_pairs: Collection[frozenset[str]] = frozenset(),
    load: Mapping[str, int] = {},
    now: datetime | None = None,
) -> Scored | None:
    """The best eligible partner with capacity (ties: smallest person_id), or None."""
    found = candidates(p, pool, program, blocked_pairs=blocked_pairs, load=load, now=now)
    return found[0] if found else None


def expires_at(program: Program, proposed_at: datetime) -> datetime:
    return proposed_at + timedelta(days=program.proposal_ttl_days)
