"""The matching kernel: every hard rule and the pair score, written once, vectorised.

`assess(a, rows, b, cols)` judges people of `a` (row indices `rows`) against people of `b`
(`cols`). The index arrays broadcast together, so one call covers a single pair (1 x 1), a person
against a pool (1 x n), a block of a cohort (k x n) or an arbitrary list of pairs. Both sides are
`Columns`: per-person features in numpy arrays, coded by one `Codebook` per program (skills,
languages, interests, departments, sites, person ids, availability signatures) and overwritten in
place when a profile changes.

Skills, languages and interests are short per-person lists, stored padded (`_Lists`): entry k of
every row is a vocabulary code (0 = none) and a value. The `a` side is expanded into dense vectors
over the vocabulary, so value(a -> b) for every pair is a gather: a's offer levels indexed by b's
want codes, weighted by b's priorities.

For every pair the result holds each hard rule's verdict (`checks`, in `REASON_CODES` order; rules
about one person appear once per side), eligibility, both one-way values, their harmonic mean, the
four bonuses and the score. With `prune=True` only the pairs where value flows both ways between two
members are kept (every other pair is ineligible and scores 0) before the other rules run: the
fast path for ranking a pool and for building the cohort graph.
"""

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

import numpy as np

from services.matcher.domain.availability import program_start
from services.matcher.domain.model import MODES, Person, Program
from services.matcher.domain.slots import SlotTable

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

BONUS_CROSS_DEPARTMENT = 0.06
BONUS_CAREER_STAGE = 0.06  # at the full distance early <-> executive
BONUS_SHARED_INTERESTS = 0.05  # at SHARED_INTERESTS_FULL shared interests
BONUS_OVERLAP = 0.05  # at OVERLAP_FULL_SESSIONS sessions' worth of weekly overlap
SHARED_INTERESTS_FULL = 3
OVERLAP_FULL_SESSIONS = 4
MAX_BONUS = BONUS_CROSS_DEPARTMENT + BONUS_CAREER_STAGE + BONUS_SHARED_INTERESTS + BONUS_OVERLAP
BONUS_FACTORS = ("bonus_cross_department", "bonus_career_stage", "bonus_shared_interests", "bonus_overlap")

IN_PERSON = 1 << MODES.index("in_person")
REMOTE_MODES = sum(1 << i for i, m in enumerate(MODES) if m != "in_person")

NO_LOAD: Mapping[str, int] = MappingProxyType({})
_PAIR_KEY = 1 << 32  # person codes stay far below this


class Vocab(dict[str, int]):
    def code(self, key: str) -> int:
        got = self.get(key)
        if got is None:
            got = self[key] = len(self)
        return got


class Codebook:
    """The codes every `Columns` of one program shares, and the program's availability table."""

    def __init__(self, program: Program, *, now: datetime | None = None) -> None:
        self.program = program
        self.slots = SlotTable(program_start(program.starts_on, now), program.duration_weeks,
                               program.session_minutes)
        self.pids, self.depts, self.sites = Vocab(), Vocab(), Vocab()
        self.skills, self.langs, self.topics = Vocab(), Vocab(), Vocab()

    def pair_keys(self, pairs: Iterable[frozenset[str]], *, touching: str | None = None) -> np.ndarray:
        """Sorted keys of `pairs` (e.g. pairs paired before), for `assess(blocked=...)`; only those
        with `touching` if given. Pairs with someone no Columns has seen cannot matter and are dropped."""
        keys = []
        for pair in pairs:
            if len(pair) != 2 or (touching is not None and touching not in pair):
                continue
            x, y = (self.pids.get(pid) for pid in pair)
            if x is not None and y is not None:
                keys.append(min(x, y) * _PAIR_KEY + max(x, y))
        return np.unique(np.array(keys, dtype=np.int64))


class _Lists:
    """Per-row lists of (vocabulary code + 1, value), padded to `width` entries; code 0 is empty.

    Column-major: codes[k] and values[k] are the k-th entries of every row, contiguous."""

    def __init__(self, rows: int, width: int) -> None:
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

    def dense(self, rows: np.ndarray, size: int) -> np.ndarray:
        """(len(rows), size): row i holds rows[i]'s values at their codes (column 0 stays 0)."""
        out = np.zeros((len(rows), size))
        out[np.arange(len(rows))[None, :], self.codes[:, rows]] = self.values[:, rows]  # a row's codes differ
        out[:, 0] = 0.0
        return out

    def gather(self, dense: np.ndarray, local: np.ndarray, cols: np.ndarray | slice, *,
               weighted: bool) -> np.ndarray:
        """sum_k dense[local, code_k(col)] (* value_k(col) if weighted), over broadcast (local, cols)."""
        one = len(dense) == 1
        if isinstance(cols, np.ndarray) and cols.size * self.width <= _SMALL:  # all k at once: fewer calls
            codes = self.codes[:, cols]
            hit = dense[0][codes] if one else dense[local[None], codes]
            return (hit * self.values[:, cols] if weighted else hit).sum(axis=0)
        out: np.ndarray | float = 0.0
        for k in range(self.width):  # the same sums, in the same order, one entry at a time
            codes = self.codes[k, cols]
            hit = dense[0][codes] if one else dense[local, codes]
            out = out + (hit * self.values[k, cols] if weighted else hit)
        return np.asarray(out)


_SMALL = 4096
_INTS = ("stage", "dept", "site", "modes", "pid", "manager", "max_partners", "sig")
_FLAGS = ("active", "in_org", "enrolled", "member")


class Columns:
    """People's features, one row each, in arrays that `upsert` overwrites in place. A removed
    person leaves a tombstone row (never a member) that the next new person reuses."""

    stage: np.ndarray
    dept: np.ndarray
    site: np.ndarray  # -1: no site
    modes: np.ndarray  # bit i: MODES[i]
    pid: np.ndarray  # person code; -1 on a tombstone
    manager: np.ndarray  # the manager's person code, -1 if none
    max_partners: np.ndarray
    sig: np.ndarray  # availability signature in the codebook's SlotTable
    active: np.ndarray
    in_org: np.ndarray  # the program's org
    enrolled: np.ndarray  # lists the program
    member: np.ndarray  # active & in_org & enrolled
    want_total: np.ndarray  # sum of want priorities

    def __init__(self, codebook: Codebook, people: Iterable[Person] = (), *, rows: int | None = None) -> None:
        people = list(people)
        self.codebook = codebook
        self.people: list[Person | None] = []  # by row; None on a tombstone
        self.row: dict[str, int] = {}  # person_id -> row
        self.n = 0  # rows in use, tombstones included
        self.free: list[int] = []
        size = rows if rows is not None else max(len(people), 1)
        for name in _INTS:
            setattr(self, name, np.zeros(size, dtype=np.int64))
        for name in _FLAGS:
            setattr(self, name, np.zeros(size, dtype=bool))
        self.want_total = np.zeros(size)
        self.offers, self.wants = _Lists(size, 4), _Lists(size, 4)
        self.langs, self.topics = _Lists(size, 2), _Lists(size, 4)
        for p in people:
            self.append(p)

    def __len__(self) -> int:
        return len(self.row)

    @property
    def capacity(self) -> int:
        return len(self.member)

    def append(self, person: Person) -> int:
        """A new row for `person`, even if their id already has one (a pair of one person twice)."""
        if self.free:
            r = self.free.pop()
        else:
            r = self.n
            self.n += 1
            self.people.append(None)
            if self.n > self.capacity:
                self.grow(2 * self.n)
        self.row[person.person_id] = r
        self._write(r, person)
        return r

    def upsert(self, person: Person) -> int:
        r = self.row.get(person.person_id)
        if r is None:
            return self.append(person)
        self._write(r, person)
        return r

    def remove(self, person_id: str) -> None:
        r = self.row.pop(person_id, None)
        if r is None:
            return
        self.people[r] = None
        for name in _FLAGS:
            getattr(self, name)[r] = False
        self.pid[r] = self.manager[r] = -1
        self.want_total[r] = 0.0
        for lists in (self.offers, self.wants, self.langs, self.topics):
            lists.set(r, [])
        self.free.append(r)

    def grow(self, size: int) -> None:
        extra = size - self.capacity
        if extra <= 0:
            return
        for name in (*_INTS, *_FLAGS, "want_total"):
            arr = getattr(self, name)
            setattr(self, name, np.concatenate([arr, np.zeros(extra, dtype=arr.dtype)]))
        for lists in (self.offers, self.wants, self.langs, self.topics):
            lists.grow(size)

    def used(self, rows: np.ndarray, load: Mapping[str, int]) -> np.ndarray | int:
        """Partnerships in use (pending + accepted) of each of `rows`, from `load` by person id."""
        if not load:
            return 0
        uniq, inverse = np.unique(rows, return_inverse=True)
        people = self.people
        got = np.fromiter((load.get(p.person_id, 0) if (p := people[r]) is not None else 0 for r in uniq.tolist()),
                          dtype=np.int64, count=len(uniq))
        return got[inverse].reshape(np.shape(rows))

    def _write(self, r: int, p: Person) -> None:
        book = self.codebook
        program = book.program
        self.people[r] = p
        self.active[r] = p.active
        self.in_org[r] = p.org_id == program.org_id
        self.enrolled[r] = program.program_id in p.program_ids
        self.member[r] = self.active[r] and self.in_org[r] and self.enrolled[r]
        self.stage[r] = p.stage_index
        self.dept[r] = book.depts.code(p.department.casefold())
        self.site[r] = book.sites.code(p.site.casefold()) if p.site else -1
        self.modes[r] = sum(1 << MODES.index(m) for m in p.meeting_modes if m in MODES)
        self.pid[r] = book.pids.code(p.person_id)
        self.manager[r] = book.pids.code(p.manager_id) if p.manager_id else -1
        self.max_partners[r] = p.max_partners
        self.sig[r] = book.slots.add(p.timezone, p.availability)
        self.offers.set(r, [(book.skills.code(s) + 1, lv / 5) for s, lv in p.offers])
        self.wants.set(r, [(book.skills.code(s) + 1, float(pr)) for s, _, pr in p.wants])
        self.want_total[r] = sum(pr for _, _, pr in p.wants)
        self.langs.set(r, [(book.langs.code(x) + 1, 1.0) for x in sorted(p.languages)])
        self.topics.set(r, [(book.topics.code(x) + 1, 1.0) for x in sorted(p.interests)])


@dataclass(frozen=True)
class Assessment:
    """Pair k is (a row `rows[k]`, b row `cols[k]`); every array has the pairs' (broadcast) shape."""

    rows: np.ndarray
    cols: np.ndarray
    value_ab: np.ndarray  # how well a's offers cover b's wants
    value_ba: np.ndarray
    harmonic: np.ndarray  # harmonic mean of the two values, 0 if either is 0
    bonuses: tuple[np.ndarray, ...]  # in BONUS_FACTORS order; 0 when harmonic is 0
    score: np.ndarray  # harmonic + bonuses
    checks: tuple[tuple[str, str, np.ndarray], ...]  # (code, side "a"/"b"/"", passes)
    eligible: np.ndarray  # every check passes

    def __len__(self) -> int:
        return int(np.size(self.eligible))

    def failed(self, k: int | tuple[int, ...]) -> list[tuple[str, str]]:
        """(code, side) of every rule pair k breaks, in REASON_CODES order."""
        return [(code, side) for code, side, ok in self.checks if not ok[k]]


def harmonic_mean(x, y):
    """2xy / (x + y), and 0 unless both are positive; elementwise on arrays."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((x > 0) & (y > 0), 2 * x * y / (x + y), 0.0)
    return out if out.ndim else float(out)


def assess(
    a: Columns,
    rows: np.ndarray,
    b: Columns,
    cols: np.ndarray | None = None,
    *,
    load: Mapping[str, int] = NO_LOAD,
    blocked: np.ndarray | None = None,
    weekly: np.ndarray | None = None,
    prune: bool = False,
) -> Assessment:
    """Every hard rule and the score for the pairs (a `rows`, b `cols`), index arrays that broadcast
    together; `cols=None` is every row of b, along the last axis. `load` counts each person's open
    partnerships (capacity rule), `blocked` holds `Codebook.pair_keys` of pairs paired before,
    `weekly` replaces the weekly overlap minutes behind the overlap bonus."""
    book = a.codebook
    if b.codebook is not book:
        raise ValueError("both sides must share one Codebook")
    program = book.program
    rows = np.asarray(rows, dtype=np.int64)
    uniq = np.unique(rows)
    local = np.searchsorted(uniq, rows)
    columns: np.ndarray | slice = slice(0, b.n) if cols is None else np.asarray(cols, dtype=np.int64)

    skills = len(book.skills) + 1
    covered_ab = b.wants.gather(a.offers.dense(uniq, skills), local, columns, weighted=True)
    covered_ba = b.offers.gather(a.wants.dense(uniq, skills), local, columns, weighted=True)
    value_ab = covered_ab / np.maximum(b.want_total[columns], 1.0)  # totals are 0 or whole numbers >= 1
    value_ba = covered_ba / np.maximum(a.want_total[rows], 1.0)
    harmonic = harmonic_mean(value_ab, value_ba)

    if prune:
        keep = (harmonic > 0) & a.member[rows] & b.member[columns]
        at = np.nonzero(keep)
        shape = keep.shape
        rows = np.broadcast_to(rows, shape)[at]
        cols = at[-1] if cols is None else np.broadcast_to(columns, shape)[at]
        value_ab, value_ba, harmonic = (np.broadcast_to(x, shape)[at] for x in (value_ab, value_ba, harmonic))
        local = np.searchsorted(uniq, rows)
        columns = cols
    elif cols is None:
        cols = columns = np.arange(b.n)
    shape = np.broadcast_shapes(np.shape(rows), np.shape(cols), np.shape(harmonic))

    pid_a, pid_b = a.pid[rows], b.pid[columns]
    shared_langs = b.langs.gather(a.langs.dense(uniq, len(book.langs) + 1), local, columns, weighted=False)
    shared_topics = b.topics.gather(a.topics.dense(uniq, len(book.topics) + 1), local, columns, weighted=False)
    modes = a.modes[rows] & b.modes[columns]
    same_site = (a.site[rows] == b.site[columns]) & (a.site[rows] >= 0)
    fits, minutes = _overlap(book.slots, a.sig[uniq], local, b.sig[columns])
    if weekly is not None:
        minutes = np.asarray(weekly)
    dept_a, dept_b = a.dept[rows], b.dept[columns]
    if blocked is not None and len(blocked):
        fresh = ~np.isin(np.minimum(pid_a, pid_b) * _PAIR_KEY + np.maximum(pid_a, pid_b), blocked)
    else:
        fresh = np.ones(shape, dtype=bool)
    checks = [
        (SAME_PERSON, "", pid_a != pid_b),
        (DIFFERENT_ORG, "", a.in_org[rows] & b.in_org[columns]),
        (NOT_IN_PROGRAM, "a", a.enrolled[rows]),
        (NOT_IN_PROGRAM, "b", b.enrolled[columns]),
        (INACTIVE, "a", a.active[rows]),
        (INACTIVE, "b", b.active[columns]),
        (MANAGER_RELATIONSHIP, "", (a.manager[rows] != pid_b) & (b.manager[columns] != pid_a)),
        (PREVIOUSLY_PAIRED, "", fresh),
        (NO_CAPACITY, "a", a.used(rows, load) < a.max_partners[rows]),
        (NO_CAPACITY, "b", b.used(columns, load) < b.max_partners[columns]),
        (NO_SHARED_LANGUAGE, "", shared_langs > 0),
        (NO_SHARED_MEETING_MODE, "", ((modes & REMOTE_MODES) != 0) | (((modes & IN_PERSON) != 0) & same_site)),
        (INSUFFICIENT_OVERLAP, "", fits),
    ]
    if program.cross_department == "required":
        checks.append((SAME_DEPARTMENT, "", dept_a != dept_b))
    checks += [(NO_VALUE, "a", value_ab > 0), (NO_VALUE, "b", value_ba > 0)]
    checks = [(code, side, _shaped(ok, shape)) for code, side, ok in checks]
    eligible = np.logical_and.reduce([ok for _, _, ok in checks])

    on = harmonic > 0
    cross = np.where(on & (dept_a != dept_b),
                     BONUS_CROSS_DEPARTMENT if program.cross_department != "any" else 0.0, 0.0)
    stage = np.where(on, BONUS_CAREER_STAGE * np.abs(a.stage[rows] - b.stage[columns]) / 3, 0.0)
    interests = np.where(on, BONUS_SHARED_INTERESTS * np.minimum(shared_topics, SHARED_INTERESTS_FULL)
                         / SHARED_INTERESTS_FULL, 0.0)
    full = OVERLAP_FULL_SESSIONS * program.session_minutes
    overlap = np.where(on, BONUS_OVERLAP * np.minimum(np.maximum(minutes, 0), full) / full, 0.0)
    score = np.where(on, harmonic + (((cross + stage) + interests) + overlap), 0.0)
    full_shape = (lambda x: _shaped(x, shape))  # noqa: E731
    return Assessment(
        rows=full_shape(rows), cols=full_shape(cols), value_ab=full_shape(value_ab), value_ba=full_shape(value_ba),
        harmonic=full_shape(harmonic), bonuses=tuple(full_shape(x) for x in (cross, stage, interests, overlap)),
        score=full_shape(score), checks=tuple(checks), eligible=eligible,
    )  # fmt: skip


def _shaped(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return x if np.shape(x) == shape else np.broadcast_to(x, shape)


def _overlap(slots: SlotTable, sigs_a: np.ndarray, local: np.ndarray,
             sigs_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a session fits every week, worst week's shared minutes) per pair, from the SlotTable."""
    if len(sigs_a) == 0:
        return np.zeros(np.shape(sigs_b), dtype=bool), np.zeros(np.shape(sigs_b), dtype=np.int64)
    uniq, inverse = np.unique(sigs_a, return_inverse=True)
    tables = [slots.row(int(s)) for s in uniq]
    if len(tables) == 1:
        return tables[0][0][sigs_b], tables[0][1][sigs_b]
    where = inverse[local]
    fits = np.stack([t[0] for t in tables])
    minutes = np.stack([t[1] for t in tables])
    return fits[where, sigs_b], minutes[where, sigs_b]


def assess_pair(
    a: Person,
    b: Person,
    program: Program,
    *,
    blocked_pairs: Collection[frozenset[str]] = frozenset(),
    load: Mapping[str, int] = NO_LOAD,
    weekly: int | None = None,
    now: datetime | None = None,
) -> Assessment:
    """One pair as a 1 x 1 block; `now` is the program start when the program has no `starts_on`."""
    pairs = _pair_columns(program, program_start(program.starts_on, now))
    ra, rb = pairs.row_of(a), pairs.row_of(b)
    columns = pairs.columns
    return assess(columns, np.array([ra]), columns, np.array([rb]), load=load,
                  blocked=columns.codebook.pair_keys(blocked_pairs, touching=a.person_id),
                  weekly=None if weekly is None else np.array([weekly]))


class _PairColumns:
    """Columns of the people recently judged pair by pair in one program, so a person's features
    (and their availability bitmaps) are coded once, not at every pair they appear in."""

    MAX_PEOPLE = 4096
    MAX_SIGNATURES = 512  # the SlotTable caches a row per signature against every other

    def __init__(self, program: Program, start: datetime) -> None:
        self.program, self.start = program, start
        self.reset()

    def reset(self) -> None:
        self.columns = Columns(Codebook(self.program, now=self.start), rows=64)
        self.rows: dict[Person, int] = {}

    def row_of(self, person: Person) -> int:
        r = self.rows.get(person)
        if r is None:
            if len(self.rows) >= self.MAX_PEOPLE or len(self.columns.codebook.slots) >= self.MAX_SIGNATURES:
                self.reset()
            r = self.rows[person] = self.columns.append(person)
        return r


_PAIR_CONTEXTS: dict[tuple[Program, datetime], _PairColumns] = {}


def _pair_columns(program: Program, start: datetime) -> _PairColumns:
    key = (program, start)
    got = _PAIR_CONTEXTS.get(key)
    if got is None or got.program.skill_aliases != program.skill_aliases:
        if len(_PAIR_CONTEXTS) >= 8:
            _PAIR_CONTEXTS.pop(next(iter(_PAIR_CONTEXTS)))
        got = _PAIR_CONTEXTS[key] = _PairColumns(program, start)
    return got
