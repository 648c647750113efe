"""An incremental, vectorised pool for one program: rescore one person against everyone.

Scalar attributes live in numpy arrays updated in place. Skills, languages and interests live in
sparse matrices (CSC-transposed: an inverted index by skill) rebuilt only after `REBUILD_AFTER`
changes; rows changed since the last rebuild are rescored in Python. Results equal
`proposals.best_partner` on the same pool.
"""

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

import numpy as np

from services.matcher.domain.availability import program_start
from services.matcher.domain.model import MODES, Person, Program
from services.matcher.domain.scoring import (
    BONUS_CAREER_STAGE, BONUS_CROSS_DEPARTMENT, BONUS_OVERLAP, BONUS_SHARED_INTERESTS, OVERLAP_FULL_SESSIONS,
    SHARED_INTERESTS_FULL, Scored, score_pair, value,
)  # fmt: skip
from services.matcher.domain.slots import SlotTable
from services.matcher.domain.vectors import IN_PERSON, REMOTE_MODES, Vocab, _sparse

REBUILD_AFTER = 1024
_INT_FIELDS = ("stage", "dept", "site", "modes", "pid", "manager", "max_partners", "sig")


class PoolIndex:
    def __init__(self, program: Program, people: Iterable[Person] = (), *, now: datetime | None = None) -> None:
        self.program = program
        self.slots = SlotTable(program_start(program.starts_on, now), program.duration_weeks, program.session_minutes)
        self.codes, self.depts, self.sites = Vocab(), Vocab(), Vocab()
        self.skills, self.langs, self.topics = Vocab(), Vocab(), Vocab()
        self.people: list[Person | None] = []
        self.row: dict[str, int] = {}
        self.n = 0
        self.member = np.zeros(0, dtype=bool)
        self.arrays = {name: np.zeros(0, dtype=np.int64) for name in _INT_FIELDS}
        self.dirty: set[int] = set()
        self._built = 0
        for p in people:
            self.upsert(p, rebuild=False)
        self.rebuild()

    def __len__(self) -> int:
        return len(self.row)

    def __contains__(self, person_id: str) -> bool:
        return person_id in self.row

    # --- updates -------------------------------------------------------------------------------

    def upsert(self, person: Person, *, rebuild: bool = True) -> None:
        r = self.row.get(person.person_id)
        if r is None:
            r = self.row[person.person_id] = self.n
            self.n += 1
            self.people.append(person)
            if self.n > len(self.member):
                self._grow(max(16, 2 * self.n))
        self.people[r] = person
        self.member[r] = self._is_member(person)
        for name, val in self._scalars(person).items():
            self.arrays[name][r] = val
        self.dirty.add(r)
        if rebuild and len(self.dirty) > REBUILD_AFTER:
            self.rebuild()

    def remove(self, person_id: str) -> None:
        r = self.row.get(person_id)
        if r is not None:
            self.member[r] = False
            self.people[r] = None
            self.dirty.add(r)

    def rebuild(self) -> None:
        alive = [p for p in self.people[: self.n]]
        self.offers = _sparse([[(self.skills.code(s), lv / 5) for s, lv in p.offers] if p else [] for p in alive], 0)
        self.wants = _sparse([[(self.skills.code(s), float(pr)) for s, _, pr in p.wants] if p else [] for p in alive], 0)
        self.lang = _sparse([[(self.langs.code(x), 1.0) for x in sorted(p.languages)] if p else [] for p in alive], 0)
        self.interest = _sparse([[(self.topics.code(x), 1.0) for x in sorted(p.interests)] if p else []
                                 for p in alive], 0)
        for m, vocab in ((self.offers, self.skills), (self.wants, self.skills), (self.lang, self.langs),
                         (self.interest, self.topics)):
            m.resize((self.n, max(len(vocab), 1)))
        self.want_total = np.asarray(self.wants.sum(axis=1)).ravel()
        self._built = self.n
        self.dirty = set()

    def _grow(self, size: int) -> None:
        self.member = np.concatenate([self.member, np.zeros(size - len(self.member), dtype=bool)])
        for name, arr in self.arrays.items():
            self.arrays[name] = np.concatenate([arr, np.zeros(size - len(arr), dtype=np.int64)])

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
        n, prog, a = self.n, self.program, self.arrays
        me = self._scalars(p)
        v_px, v_xp = np.zeros(n), np.zeros(n)
        shared_lang, shared_topics = np.zeros(n, dtype=bool), np.zeros(n)
        b = self._built
        if b:
            o = self._vector(((s, lv / 5) for s, lv in p.offers), self.skills, self.offers.shape[1])
            w = self._vector(((s, float(pr)) for s, _, pr in p.wants), self.skills, self.wants.shape[1])
            langs = self._vector(((x, 1.0) for x in p.languages), self.langs, self.lang.shape[1])
            topics = self._vector(((x, 1.0) for x in p.interests), self.topics, self.interest.shape[1])
            with np.errstate(divide="ignore", invalid="ignore"):
                v_px[:b] = np.where(self.want_total > 0, (self.wants @ o) / self.want_total, 0.0)
            total = sum(pr for _, _, pr in p.wants)
            v_xp[:b] = (self.offers @ w) / total if total else 0.0
            shared_lang[:b] = (self.lang @ langs) > 0
            shared_topics[:b] = self.interest @ topics
        for r in self.dirty:
            q = self.people[r]
            if q is not None:
                v_px[r], v_xp[r] = value(p, q), value(q, p)
                shared_lang[r] = bool(p.languages & q.languages)
                shared_topics[r] = len(p.interests & q.interests)
        with np.errstate(divide="ignore", invalid="ignore"):
            hm = np.where((v_px > 0) & (v_xp > 0), 2 * v_px * v_xp / (v_px + v_xp), 0.0)
        fits_sig, weekly_sig = self.slots.row(me["sig"])
        sig = a["sig"][:n]
        fits, weekly = fits_sig[sig], weekly_sig[sig]
        modes = a["modes"][:n] & me["modes"]
        same_site = (a["site"][:n] == me["site"]) & (me["site"] >= 0)
        shared_mode = ((modes & REMOTE_MODES) != 0) | (((modes & IN_PERSON) != 0) & same_site)
        dept = a["dept"][:n]
        ok = (
            self.member[:n] & self._is_member(p) & (a["pid"][:n] != me["pid"])
            & (a["manager"][:n] != me["pid"]) & (a["pid"][:n] != me["manager"])
            & shared_lang & shared_mode & fits & (hm > 0)
        )  # fmt: skip
        if prog.cross_department == "required":
            ok &= dept != me["dept"]
        cross = (dept != me["dept"]) * (BONUS_CROSS_DEPARTMENT if prog.cross_department != "any" else 0.0)
        stage = BONUS_CAREER_STAGE * np.abs(me["stage"] - a["stage"][:n]) / 3
        interests = BONUS_SHARED_INTERESTS * np.minimum(shared_topics, SHARED_INTERESTS_FULL) / SHARED_INTERESTS_FULL
        full = OVERLAP_FULL_SESSIONS * prog.session_minutes
        over = BONUS_OVERLAP * np.minimum(weekly, full) / full
        return ok, np.where(hm > 0, hm + (cross + stage + interests + over), 0.0)

    @staticmethod
    def _vector(items: Iterable[tuple[str, float]], vocab: Vocab, width: int) -> np.ndarray:
        vec = np.zeros(width)
        for key, val in items:
            col = vocab.get(key)
            if col is not None and col < width:
                vec[col] = val
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
