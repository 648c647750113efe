"""An incremental pool for one program: rescore one person against everyone, with the kernel.

Every attribute of every row lives in the kernel's `Columns`, which a profile change overwrites in
place, so the pool never needs rebuilding and no row is ever rescored in Python. A query is one
`kernel.assess_block` of the person (1 row, coded with the pool's `Codebook`) against every row, pruned to
the rows where value flows both ways; capacity (`load`) and previous pairings (`blocked_pairs`) are
rules of the kernel like the others. A removed person leaves a tombstone row (never eligible) that
the next new person reuses.
"""

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

import numpy as np

from services.matcher.domain.kernel import NO_LOAD, Assessment, Codebook, Columns, assess_block
from services.matcher.domain.model import Person, Program
from services.matcher.domain.scoring import Scored, explained

_QUERY = np.zeros(1, dtype=np.int64)


class PoolIndex:
    def __init__(self, program: Program, people: Iterable[Person] = (), *, now: datetime | None = None) -> None:
        self.program = program
        self.codebook = Codebook(program, now=now)
        self.columns = Columns(self.codebook, rows=256)
        self.query: Columns | None = None  # one row: the person being ranked
        for p in people:
            self.upsert(p)

    def __len__(self) -> int:
        return len(self.columns)

    def __contains__(self, person_id: str) -> bool:
        return person_id in self.columns.row

    @property
    def n(self) -> int:
        """Rows in use, removed people's rows included."""
        return self.columns.n

    @property
    def row(self) -> dict[str, int]:
        return self.columns.row

    @property
    def start(self) -> datetime:
        return self.codebook.slots.start

    def get(self, person_id: str) -> Person | None:
        """The pool's current version of a person, or None."""
        r = self.columns.row.get(person_id)
        return None if r is None else self.columns.people[r]

    def upsert(self, person: Person, *, rebuild: bool = True) -> None:
        """Add or replace a person: O(size of their profile), whatever the pool size. (`rebuild`
        is accepted for compatibility; nothing is ever rebuilt.)"""
        self.columns.upsert(person)

    def remove(self, person_id: str) -> None:
        self.columns.remove(person_id)

    def rebuild(self) -> None:
        """Nothing to do: every change is applied in place. Kept for compatibility."""

    def assess(
        self,
        p: Person,
        *,
        blocked_pairs: Collection[frozenset[str]] = frozenset(),
        load: Mapping[str, int] = NO_LOAD,
    ) -> Assessment:
        """`p` against every row where value flows both ways (every other row is ineligible)."""
        r = self.columns.row.get(p.person_id)
        if r is not None and (self.columns.people[r] is p or self.columns.people[r] == p):
            a, rows = self.columns, np.array([r])
        else:  # p as the pool does not have them
            if self.query is None:
                self.query = Columns(self.codebook, (p,), postings=False)
            else:
                self.query.write(0, p)
            a, rows = self.query, _QUERY
        blocked = self.codebook.pair_keys(blocked_pairs, touching=p.person_id)  # p has a person code now
        return assess_block(a, rows, self.columns, load=load, blocked=blocked)

    def ranked(
        self,
        p: Person,
        *,
        blocked_pairs: Collection[frozenset[str]] = frozenset(),
        load: Mapping[str, int] = NO_LOAD,
        limit: int | None = None,
    ) -> list[tuple[str, float]]:
        """Eligible partners with capacity as (person_id, score), best first, ties by person_id."""
        result, order = self._order(p, blocked_pairs, load, limit)
        people = self.columns.people
        return [(people[result.cols[k]].person_id, float(result.score[k])) for k in order]

    def scored(
        self,
        p: Person,
        *,
        blocked_pairs: Collection[frozenset[str]] = frozenset(),
        load: Mapping[str, int] = NO_LOAD,
        limit: int | None = None,
    ) -> list[Scored]:
        """Like `ranked`, with each pair's explanation."""
        result, order = self._order(p, blocked_pairs, load, limit)
        people = self.columns.people
        return [explained(result, k, p, people[result.cols[k]]) for k in order]

    def best_partner(
        self,
        p: Person,
        *,
        blocked_pairs: Collection[frozenset[str]] = frozenset(),
        load: Mapping[str, int] = NO_LOAD,
    ) -> Scored | None:
        top = self.scored(p, blocked_pairs=blocked_pairs, load=load, limit=1)
        return top[0] if top else None

    def _order(self, p: Person, blocked_pairs: Collection[frozenset[str]], load: Mapping[str, int],
               limit: int | None) -> tuple[Assessment, list[int]]:
        """The assessment of `p` and its eligible pairs, best first (ties: smaller partner id)."""
        result = self.assess(p, blocked_pairs=blocked_pairs, load=load)
        at = np.flatnonzero(result.eligible)
        if limit is not None and len(at) > limit:
            score = result.score[at]
            cut = -np.partition(-score, limit - 1)[limit - 1]  # the limit-th best score; ties with it stay
            at = at[score >= cut]
        columns, cols, score = self.columns, result.cols, result.score
        order = sorted(at.tolist(), key=lambda k: (-score[k], columns.person(int(cols[k])).person_id))
        return result, order if limit is None else order[:limit]
