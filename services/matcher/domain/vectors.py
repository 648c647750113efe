"""Column-wise features of a pool of people, for scoring one person (or a block of people)
against everyone at once. Skills, languages and interests are sparse matrices: their CSC form is
an inverted index by skill. Every score here equals `scoring.score_pair` on the same pair."""

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import scipy.sparse as sp

from shared.availability import program_start
from services.matcher.domain.model import MODES, STAGES, Person, Program
from services.matcher.domain.rules import (
    INACTIVE, INSUFFICIENT_OVERLAP, MANAGER_RELATIONSHIP, NO_SHARED_LANGUAGE, NO_SHARED_MEETING_MODE, NO_VALUE,
    NOT_IN_PROGRAM, SAME_DEPARTMENT, SAME_PERSON,
)  # fmt: skip
from services.matcher.domain.scoring import (
    BONUS_CAREER_STAGE, BONUS_CROSS_DEPARTMENT, BONUS_OVERLAP, BONUS_SHARED_INTERESTS, OVERLAP_FULL_SESSIONS,
    SHARED_INTERESTS_FULL,
)  # fmt: skip
from services.matcher.domain.slots import SlotTable

IN_PERSON = 1 << MODES.index("in_person")
REMOTE_MODES = sum(1 << i for i, m in enumerate(MODES) if m != "in_person")


class Vocab(dict[str, int]):
    def code(self, key: str) -> int:
        got = self.get(key)
        if got is None:
            got = self[key] = len(self)
        return got


def _sparse(rows: list[list[tuple[int, float]]], width: int) -> sp.csr_matrix:
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    cols = np.fromiter((c for r in rows for c, _ in r), dtype=np.int32, count=int(indptr[-1]))
    vals = np.fromiter((v for r in rows for _, v in r), dtype=np.float64, count=int(indptr[-1]))
    return sp.csr_matrix((vals, cols, indptr), shape=(len(rows), width))


class Features:
    """Arrays over `people` (row i = people[i]) for `program`."""

    def __init__(self, people: Sequence[Person], program: Program, *, now: datetime | None = None,
                 slots: SlotTable | None = None) -> None:
        self.people = list(people)
        self.program = program
        self.ids = [p.person_id for p in self.people]
        self.row = {pid: i for i, pid in enumerate(self.ids)}
        n = len(self.people)
        self.skills, self.langs, self.topics = Vocab(), Vocab(), Vocab()
        self.sites, self.depts = Vocab({"": -1}), Vocab()
        self.slots = slots or SlotTable(program_start(program.starts_on, now), program.duration_weeks,
                                        program.session_minutes)
        self.active = np.array([p.active for p in self.people], dtype=bool)
        self.enrolled = np.array([p.org_id == program.org_id and program.program_id in p.program_ids
                                  for p in self.people], dtype=bool)
        self.member = self.active & self.enrolled
        self.stage = np.array([p.stage_index for p in self.people], dtype=np.int8)
        self.dept = np.array([self.depts.code(p.department.casefold()) for p in self.people], dtype=np.int32)
        self.site = np.array([self.sites.code(p.site.casefold()) if p.site else -1 for p in self.people],
                             dtype=np.int32)
        self.modes = np.array([sum(1 << MODES.index(m) for m in p.meeting_modes if m in MODES)
                               for p in self.people], dtype=np.uint8)
        self.manager = np.array([self.row.get(p.manager_id, -2) if p.manager_id else -1 for p in self.people],
                                dtype=np.int64)
        self.max_partners = np.array([p.max_partners for p in self.people], dtype=np.int64)
        self.sig = np.array([self.slots.add(p.timezone, p.availability) for p in self.people], dtype=np.int64)
        self.offers = _sparse([[(self.skills.code(s), lv / 5) for s, lv in p.offers] for p in self.people], 0)
        self.wants = _sparse([[(self.skills.code(s), float(pr)) for s, _, pr in p.wants] for p in self.people], 0)
        width = max(len(self.skills), 1)
        self.offers.resize((n, width))
        self.wants.resize((n, width))
        self.want_total = np.asarray(self.wants.sum(axis=1)).ravel()
        self.lang = _sparse([[(self.langs.code(x), 1.0) for x in sorted(p.languages)] for p in self.people], 0)
        self.lang.resize((n, max(len(self.langs), 1)))
        self.interest = _sparse([[(self.topics.code(x), 1.0) for x in sorted(p.interests)] for p in self.people], 0)
        self.interest.resize((n, max(len(self.topics), 1)))
        self.offers_t, self.wants_t = self.offers.T.tocsr(), self.wants.T.tocsr()
        self.lang_t, self.interest_t = self.lang.T.tocsr(), self.interest.T.tocsr()

    def __len__(self) -> int:
        return len(self.people)

    def block(self, rows: np.ndarray) -> "Block":
        """Scores and hard-rule masks of `rows` (k people) against everyone: k x n arrays. Capacity
        and previous pairings are left to the caller."""
        rules, score = self._rules(rows)
        ok = rules.pop("member")
        for mask in rules.values():
            ok &= mask
        return Block(rows=rows, ok=ok, score=score)

    def explain(self, i: int) -> Counter:
        """How many others each hard rule (except capacity and history) rules out for row i."""
        rules, _ = self._rules(np.array([i]))
        others = np.arange(len(self)) != i
        counts: Counter = Counter()
        if not self.member[i]:
            counts[INACTIVE if not self.active[i] else NOT_IN_PROGRAM] += int(others.sum())
        counts[INACTIVE] += int(np.count_nonzero(~self.active & others))
        counts[NOT_IN_PROGRAM] += int(np.count_nonzero(self.active & ~self.enrolled & others))
        del rules["member"]
        for code, mask in rules.items():
            if code != SAME_PERSON:
                counts[code] += int(np.count_nonzero(~mask[0] & others))
        return +counts

    def _rules(self, rows: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        prog = self.program
        n = len(self)
        v_rc = (self.offers[rows] @ self.wants_t).toarray()  # value(row -> col) * want_total[col]
        v_cr = (self.wants[rows] @ self.offers_t).toarray()  # value(col -> row) * want_total[row]
        with np.errstate(divide="ignore", invalid="ignore"):
            v_rc = np.where(self.want_total[None, :] > 0, v_rc / self.want_total[None, :], 0.0)
            v_cr = np.where(self.want_total[rows, None] > 0, v_cr / self.want_total[rows, None], 0.0)
            hm = np.where((v_rc > 0) & (v_cr > 0), 2 * v_rc * v_cr / (v_rc + v_cr), 0.0)
        fits_sig, weekly_sig = self._slot_rows(self.sig[rows])
        fits = fits_sig[:, self.sig]
        weekly = weekly_sig[:, self.sig]
        dept_r, dept_c = self.dept[rows, None], self.dept[None, :]
        shared_lang = (self.lang[rows] @ self.lang_t).toarray() > 0
        mr, mc = self.modes[rows, None], self.modes[None, :]
        same_site = (self.site[rows, None] == self.site[None, :]) & (self.site[rows, None] >= 0)
        shared_mode = ((mr & mc & REMOTE_MODES) != 0) | (((mr & mc & IN_PERSON) != 0) & same_site)
        cols = np.arange(n)
        rules = {
            "member": self.member[rows, None] & self.member[None, :],
            SAME_PERSON: rows[:, None] != cols[None, :],
            MANAGER_RELATIONSHIP: (self.manager[rows, None] != cols[None, :]) & (self.manager[None, :] != rows[:, None]),
            NO_SHARED_LANGUAGE: shared_lang,
            NO_SHARED_MEETING_MODE: shared_mode,
            INSUFFICIENT_OVERLAP: fits,
            NO_VALUE: hm > 0,
        }
        if prog.cross_department == "required":
            rules[SAME_DEPARTMENT] = dept_r != dept_c
        cross = (dept_r != dept_c) * (BONUS_CROSS_DEPARTMENT if prog.cross_department != "any" else 0.0)
        stage = BONUS_CAREER_STAGE * np.abs(self.stage[rows, None].astype(np.int64) - self.stage[None, :]) / 3
        shared = (self.interest[rows] @ self.interest_t).toarray()
        interests = BONUS_SHARED_INTERESTS * np.minimum(shared, SHARED_INTERESTS_FULL) / SHARED_INTERESTS_FULL
        full = OVERLAP_FULL_SESSIONS * prog.session_minutes
        over = BONUS_OVERLAP * np.minimum(weekly, full) / full
        score = np.where(hm > 0, hm + (cross + stage + interests + over), 0.0)
        return rules, score

    def _slot_rows(self, sigs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        uniq, inverse = np.unique(sigs, return_inverse=True)
        fits = np.stack([self.slots.row(int(s))[0] for s in uniq])
        weekly = np.stack([self.slots.row(int(s))[1] for s in uniq])
        return fits[inverse], weekly[inverse]


class Block:
    __slots__ = ("rows", "ok", "score")

    def __init__(self, rows: np.ndarray, ok: np.ndarray, score: np.ndarray) -> None:
        self.rows, self.ok, self.score = rows, ok, score


__all__ = ["Features", "Block", "Vocab", "STAGES"]
