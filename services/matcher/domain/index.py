"""An incremental, vectorised pool for one program: rescore one person against everyone.

Every attribute of every row lives in numpy arrays that a profile change overwrites in place, so
the pool never needs rebuilding and no row is ever rescored in Python. Skills, languages and
interests are small per-person lists, stored padded to a common width (`_Lists`): column k holds
each row's k-th entry as a vocabulary code (0 = none) and a value. Scoring `p` against the pool is
then a gather: p's offers as a dense vector over the skill vocabulary, indexed by every row's want
codes, gives value(p -> row) for all rows in a few vector operations (and the same the other way
round, and for languages and interests). A person removed from the pool leaves a tombstone row
(never eligible) that the next new person reuses.

Results equal `proposals.best_partner` on the same pool; `ranked` also applies capacity (`load`)
and previous pairings (`blocked_pairs`).
"""

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

import numpy as np

from shared.availability import program_start
from services.matcher.domain.model import MODES, Person, Program
from services.matcher.domain.scoring import (
    BONUS_CAREER_STAGE, BONUS_CROSS_DEPARTMENT, BONUS_OVERLAP, BONUS_SHARED_INTERESTS, OVERLAP_FULL_SESSIONS,
    SHARED_INTERESTS_FULL, Scored, score_pair,
)  # fmt: skip
from services.matcher.domain.slots import SlotTable
from services.matcher.domain.vectors import IN_PERSON, REMOTE_MODES, Vocab

_INT_FIELDS = ("stage", "dept", "site", "modes", "pid", "manager", "max_partners", "sig")


class _Lists:
    """Per-row lists of (vocabulary code, value), padded to `width` columns; code 0 means empty.

    Stored column-major: codes[k] and values[k] are the k-th entries of every row, contiguous."""

    def __init__(self, rows: int, width: int = 4) -> None:
        self.codes = np.zeros((width, rows), dtype=np.int32)
        self.values = np.zeros((width, rows), dtype=np.float64)

    @property
    def width(self) -> int:
        return self.codes.shape[0]

    def grow(self, rows: int) -> None:
        extra = rows - self.codes.shape[1]
        self.codes = np.concatenate([self.codes, np.zeros((self.width, extra), dtype=np.int32)], axis=1)
        self.values = np.concatenate([self.values, np.zeros((self.width, extra))], axis=1)

    def set(self, r: int, items: list[tuple[int, float]]) -> None:
        if len(items) > self.width:
            extra = len(items) - self.width
            self.codes = np.concatenate([self.codes, np.zeros((extra, self.codes.shape[1]), dtype=np.int32)])
            self.values = np.concatenate([self.values, np.zeros((extra, self.values.shape[1]))])
        self.codes[:, r] = 0
        self.values[:, r] = 0.0
        for k, (code, val) in enumerate(items):
            self.codes[k, r] = code
            self.values[k, r] = val

    def weighted(self, vector: np.ndarray, n: int) -> np.ndarray:
        """sum_k vector[code_k] * value_k for each of the first n rows, in list order."""
        out = np.zeros(n)
        for k in range(self.width):
            out += vector[self.codes[k, :n]] * self.values[k, :n]
        return out

    def hits(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """sum_k vector[code_k] for each of `rows`."""
        out = np.zeros(len(rows))
        for k in range(self.width):
            out += vector[self.codes[k, rows]]
        return out


class PoolIndex:
    def __init__(self, program: Program, people: Iterable[Person] = (), *, now: datetime | None = None) -> None:
        self.program = program
        self.slots = SlotTable(program_start(program.starts_on, now), program.duration_weeks, program.session_minutes)
        self.codes, self.depts, self.sites = Vocab(), Vocab(), Vocab()
        self.skills, self.langs, self.topics = Vocab(), Vocab(), Vocab()
        self.people: list[Person | None] = []  # by row; None: a removed person's row, free for reuse
        self.row: dict[str, int] = {}  # person_id -> row, people in the pool only
        self.n = 0  # rows in use (including removed ones)
        self.free: list[int] = []  # removed rows
        self.member = np.zeros(0, dtype=bool)
        self.arrays = {name: np.zeros(0, dtype=np.int64) for name in _INT_FIELDS}
        self.want_total = np.zeros(0)
        self.offers, self.wants = _Lists(0), _Lists(0)
        self.lang, self.interest = _Lists(0, 2), _Lists(0)
        self.grow(256)
        for p in people:
            self.upsert(p)

    def __len__(self) -> int:
        return len(self.row)

    def __contains__(self, person_id: str) -> bool:
        return person_id in self.row

    def get(self, person_id: str) -> Person | None:
        """The pool's current version of a person, or None."""
        r = self.row.get(person_id)
        return None if r is None else self.people[r]

    # --- updates -------------------------------------------------------------------------------

    def upsert(self, person: Person, *, rebuild: bool = True) -> None:
        """Add or replace a person: O(size of their profile), whatever the pool size. (`rebuild`
        is accepted for compatibility; nothing is ever rebuilt.)"""
        r = self.row.get(person.person_id)
        if r is None:
            if self.free:
                r = self.free.pop()
            else:
                r = self.n
                self.n += 1
                self.people.append(None)
                if self.n > len(self.member):
                    self.grow(2 * self.n)
            self.row[person.person_id] = r
        self.people[r] = person
        self.member[r] = self._is_member(person)
        for name, val in self._scalars(person).items():
            self.arrays[name][r] = val
        self.offers.set(r, [(self.skills.code(s) + 1, lv / 5) for s, lv in person.offers])
        self.wants.set(r, [(self.skills.code(s) + 1, float(pr)) for s, _, pr in person.wants])
        self.want_total[r] = sum(pr for _, _, pr in person.wants)
        self.lang.set(r, [(self.langs.code(x) + 1, 1.0) for x in sorted(person.languages)])
        self.interest.set(r, [(self.topics.code(x) + 1, 1.0) for x in sorted(person.interests)])

    def remove(self, person_id: str) -> None:
        r = self.row.pop(person_id, None)
        if r is not None:
            self.member[r] = False
            self.people[r] = None
            self.arrays["pid"][r] = self.arrays["manager"][r] = -1
            for lists in (self.offers, self.wants, self.lang, self.interest):
                lists.set(r, [])
            self.want_total[r] = 0
            self.free.append(r)

    def rebuild(self) -> None:
        """Nothing to do: every change is applied in place. Kept for compatibility."""

    def grow(self, size: int) -> None:
        """Make room for `size` rows (amortised: called with doubling sizes)."""
        extra = size - len(self.member)
        if extra <= 0:
            return
        self.member = np.concatenate([self.member, np.zeros(extra, dtype=bool)])
        self.want_total = np.concatenate([self.want_total, np.zeros(extra)])
        for name, arr in self.arrays.items():
            self.arrays[name] = np.concatenate([arr, np.zeros(extra, dtype=np.int64)])
        for lists in (self.offers, self.wants, self.lang, self.interest):
            lists.grow(size)

    def _is_member(self, p: Person) -> bool:
        return p.active and p.org_id == self.program.org_id and self.program.program_id in p.program_ids

    def _scalars(self, p: Person) -> dict[str, int]:
        return {
            "stage": p.stage_index,
            "dept": self.depts.code(p.department.casefold()),
            "site": self.sites.code(p.site.casefold()) if p.site else -1,
            "modes": sum(1 << MODES.index(m) for m in p.meeting_modes if m in MODES),
            "pid": self.codes.code(p.person_id),
            "manager": self.codes.code(p.manager_id) if p.manager_id else -1,
            "max_partners": p.max_partners,
            "sig": self.slots.add(p.timezone, p.availability),
        }

    # --- queries -------------------------------------------------------------------------------

    def scores(self, p: Person) -> tuple[np.ndarray, np.ndarray]:
        """(eligible, score) of `p` against every row, before capacity and pairing history."""
        rows, ok, score = self.candidates(p)
        full_ok, full_score = np.zeros(self.n, dtype=bool), np.zeros(self.n)
        full_ok[rows], full_score[rows] = ok, score
        return full_ok, full_score

    def candidates(self, p: Person) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, eligible, score): the rows where value flows both ways between `p` and a pool
        member (every other row is ineligible and scores 0), whether each is eligible before
        capacity and pairing history, and its score."""
        n, prog, a = self.n, self.program, self.arrays
        me = self._scalars(p)
        if not self._is_member(p) or not p.wants or not p.offers:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool), np.zeros(0)
        offers = self._vector(((s, lv / 5) for s, lv in p.offers), self.skills)
        wants = self._vector(((s, float(pr)) for s, _, pr in p.wants), self.skills)
        # value(row -> p) * total, and value(p -> row) * want_total[row], for every row
        covered_xp = self.offers.weighted(wants, n)
        covered_px = self.wants.weighted(offers, n)
        rows = np.flatnonzero((covered_xp > 0) & (covered_px > 0) & self.member[:n])
        v_xp = covered_xp[rows] / sum(pr for _, _, pr in p.wants)
        v_px = covered_px[rows] / self.want_total[rows]
        hm = 2 * v_px * v_xp / (v_px + v_xp)
        shared_lang = self.lang.hits(self._vector(((x, 1.0) for x in p.languages), self.langs), rows) > 0
        shared_topics = self.interest.hits(self._vector(((x, 1.0) for x in p.interests), self.topics), rows)
        fits_sig, weekly_sig = self.slots.row(me["sig"])
        sig = a["sig"][rows]
        fits, weekly = fits_sig[sig], weekly_sig[sig]
        modes = a["modes"][rows] & me["modes"]
        same_site = (a["site"][rows] == me["site"]) & (me["site"] >= 0)
        shared_mode = ((modes & REMOTE_MODES) != 0) | (((modes & IN_PERSON) != 0) & same_site)
        dept, pid = a["dept"][rows], a["pid"][rows]
        ok = (pid != me["pid"]) & (a["manager"][rows] != me["pid"]) & (pid != me["manager"])
        ok &= shared_lang & shared_mode & fits
        if prog.cross_department == "required":
            ok &= dept != me["dept"]
        cross = (dept != me["dept"]) * (BONUS_CROSS_DEPARTMENT if prog.cross_department != "any" else 0.0)
        stage = BONUS_CAREER_STAGE * np.abs(me["stage"] - a["stage"][rows]) / 3
        interests = BONUS_SHARED_INTERESTS * np.minimum(shared_topics, SHARED_INTERESTS_FULL) / SHARED_INTERESTS_FULL
        full = OVERLAP_FULL_SESSIONS * prog.session_minutes
        over = BONUS_OVERLAP * np.minimum(weekly, full) / full
        return rows, ok, hm + (cross + stage + interests + over)

    @staticmethod
    def _vector(items: Iterable[tuple[str, float]], vocab: Vocab) -> np.ndarray:
        """Dense over the vocabulary, shifted by one: slot 0 (the padding code) stays 0."""
        vec = np.zeros(len(vocab) + 1)
        for key, val in items:
            col = vocab.get(key)
            if col is not None:
                vec[col + 1] = val
        return vec

    def ranked(
        self,
        p: Person,
        *,
        blocked_pairs: Collection[frozenset[str]] = frozenset(),
        load: Mapping[str, int] = {},  # noqa: B006 - read only
        limit: int | None = None,
    ) -> list[tuple[str, float]]:
        """Eligible partners with capacity as (person_id, score), best first, ties by person_id."""
        if load.get(p.person_id, 0) >= p.max_partners:
            return []
        ok, score = self.scores(p)
        rows = np.flatnonzero(ok)
        rows = rows[np.argsort(-score[rows], kind="stable")]
        maxp = self.arrays["max_partners"]
        out: list[tuple[str, float]] = []
        for r in rows.tolist():
            q = self.people[r]
            if load.get(q.person_id, 0) >= maxp[r] or frozenset((p.person_id, q.person_id)) in blocked_pairs:
                continue
            s = float(score[r])
            if limit is not None and len(out) >= limit and s < out[-1][1]:
                break
            out.append((q.person_id, s))
        out.sort(key=lambda x: (-x[1], x[0]))
        return out if limit is None else out[:limit]

    def best_partner(
        self,
        p: Person,
        *,
        blocked_pairs: Collection[frozenset[str]] = frozenset(),
        load: Mapping[str, int] = {},  # noqa: B006 - read only
    ) -> Scored | None:
        top = self.ranked(p, blocked_pairs=blocked_pairs, load=load, limit=1)
        if not top:
            return None
        partner = self.people[self.row[top[0][0]]]
        return score_pair(p, partner, self.program, now=self.slots.start)
