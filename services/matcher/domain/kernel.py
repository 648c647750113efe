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
want codes, weighted by the program's weight of each of b's priorities.

For every pair the result holds each hard rule's verdict (`checks`, in `REASON_CODES` order; rules
about one person appear once per side), eligibility, both one-way values, their harmonic mean, the
four bonuses and the score. `assess_block` is the fast path for ranking a pool and building the
cohort graph: it keeps, from a block of rows x columns, only the pairs where value flows both ways
between two members (every other pair is ineligible and scores 0), found with per-skill bitmaps of
who offers and who wants what, before the other rules run on those pairs.
"""

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from operator import itemgetter
from types import MappingProxyType
from typing import overload

import numpy as np

from services.matcher.domain.model import MODES, Person, Program
from services.matcher.domain.slots import SlotTable
from shared.availability import program_start

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
        return np.array(sorted(set(keys)), dtype=np.int64)


class _Lists:
    """Per-row lists of (vocabulary code + 1, value), padded to `width` entries; code 0 is empty.

    Column-major: codes[k] and values[k] are the k-th entries of every row, contiguous."""

    def __init__(self, rows: int, width: int, *, postings: bool = False) -> None:
        self.codes = np.zeros((width, rows), dtype=np.int32)
        self.values = np.zeros((width, rows), dtype=np.float64)
        # postings[c]: bit r (little-endian within each byte) is set iff row r's list holds code c
        self.postings = np.zeros((8, _bytes(rows)), dtype=np.uint8) if postings else None

    @property
    def width(self) -> int:
        return self.codes.shape[0]

    def grow(self, rows: int) -> None:
        extra = rows - self.codes.shape[1]
        self.codes = np.concatenate([self.codes, np.zeros((self.width, extra), dtype=np.int32)], axis=1)
        self.values = np.concatenate([self.values, np.zeros((self.width, extra))], axis=1)
        if self.postings is not None:
            more = np.zeros((len(self.postings), _bytes(rows) - self.postings.shape[1]), dtype=np.uint8)
            self.postings = np.concatenate([self.postings, more], axis=1)

    def set(self, r: int, items: list[tuple[int, float]]) -> None:
        count = len(items)
        if count > self.width:
            extra = count - self.width
            self.codes = np.concatenate([self.codes, np.zeros((extra, self.codes.shape[1]), dtype=np.int32)])
            self.values = np.concatenate([self.values, np.zeros((extra, self.values.shape[1]))])
        codes = [code for code, _ in items]
        if self.postings is not None:
            byte, bit = r >> 3, 1 << (r & 7)
            postings = self.postings
            for code in self.codes[:, r].tolist():  # a few entries: scalar updates beat fancy indexing
                if code:
                    postings[code, byte] &= 0xFF ^ bit
            if count and max(codes) >= len(postings):
                more = max(max(codes) + 1, 2 * len(postings)) - len(postings)
                postings = np.concatenate([postings, np.zeros((more, postings.shape[1]), dtype=np.uint8)])
                self.postings = postings
            for code in codes:
                postings[code, byte] |= bit
        pad = [0] * (self.width - count)
        self.codes[:, r] = codes + pad
        self.values[:, r] = [val for _, val in items] + pad

    def holders(self, codes: np.ndarray, nbytes: int) -> np.ndarray:
        """(len(codes[0]), nbytes) bitmaps: for column i of `codes` (codes by entry), the rows whose
        list holds any of codes[:, i]."""
        postings = self.postings
        if postings is None:
            raise ValueError("these lists keep no postings (built with postings=False)")
        codes = np.where(codes < len(postings), codes, 0)
        held: np.ndarray
        if codes.shape[1] == 1:
            held = np.bitwise_or.reduce(postings[codes[:, 0]], axis=0)[None, :nbytes]
        else:
            held = np.bitwise_or.reduce(postings[codes, :nbytes], axis=0)
        return held

    def dense(self, rows: np.ndarray, size: int) -> np.ndarray:
        """(len(rows), size): row i holds rows[i]'s values at their codes (column 0 stays 0)."""
        out = np.zeros((len(rows), size))
        if len(rows) == 1:
            r = int(rows[0])
            out[0, self.codes[:, r]] = self.values[:, r]
        else:
            out[np.arange(len(rows))[None, :], self.codes[:, rows]] = self.values[:, rows]  # a row's codes differ
        return out  # column 0 (padding) only ever receives 0

    def gather(self, dense: np.ndarray, local: np.ndarray, cols: np.ndarray | slice, *,
               weighted: bool) -> np.ndarray:
        """sum_k dense[local, code_k(col)] (* value_k(col) if weighted), over broadcast (local, cols)."""
        one = len(dense) == 1
        if isinstance(cols, np.ndarray) and cols.size * self.width <= _SMALL:  # all k at once: fewer calls
            codes = self.codes[:, cols]
            hit = dense[0][codes] if one else dense[local[None], codes]
            total: np.ndarray = (hit * self.values[:, cols] if weighted else hit).sum(axis=0)
            return total
        out: np.ndarray | None = None
        for k in range(self.width):  # the same sums, in the same order, one entry at a time
            codes = self.codes[k, cols]
            hit = dense[0][codes] if one else dense[local, codes]
            if weighted:
                hit *= self.values[k, cols]
            if out is None:
                out = hit
            else:
                out += hit
        if out is None:
            raise ValueError("lists of width 0 hold nothing to gather")
        return out


_SMALL = 256  # entries: below this one gather for all k beats one per k


def _bytes(rows: int) -> int:
    return (rows + 7) // 8
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
    want_total: np.ndarray  # sum of the weights of the wants' priorities

    def __init__(self, codebook: Codebook, people: Iterable[Person] = (), *, rows: int | None = None,
                 postings: bool = True) -> None:
        """`postings=False`: no bitmaps of who offers and wants what, so no use as the `b` side of
        `assess_block` (a person to query with)."""
        people = list(people)
        self.codebook = codebook
        self.people: list[Person | None] = []  # by row; None on a tombstone
        self.ids: list[str | None] = []  # person_id by row
        self.row: dict[str, int] = {}  # person_id -> row
        self.n = 0  # rows in use, tombstones included
        self.free: list[int] = []
        size = rows if rows is not None else max(len(people), 1)
        self._ints = np.zeros((len(_INTS), size), dtype=np.int64)  # one column per row: one write
        self._flags = np.zeros((len(_FLAGS), size), dtype=bool)
        self._views()
        self.want_total = np.zeros(size)
        self.offers, self.wants = _Lists(size, 4, postings=postings), _Lists(size, 4, postings=postings)
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
            self.ids.append(None)
            if self.n > self.capacity:
                self.grow(2 * self.n)
        self.row[person.person_id] = r
        self.write(r, person)
        return r

    def upsert(self, person: Person) -> int:
        r = self.row.get(person.person_id)
        if r is None:
            return self.append(person)
        self.write(r, person)
        return r

    def remove(self, person_id: str) -> None:
        r = self.row.pop(person_id, None)
        if r is None:
            return
        self.people[r] = self.ids[r] = None
        self._flags[:, r] = False
        self.pid[r] = self.manager[r] = -1
        self.want_total[r] = 0.0
        for lists in (self.offers, self.wants, self.langs, self.topics):
            lists.set(r, [])
        self.free.append(r)

    def grow(self, size: int) -> None:
        extra = size - self.capacity
        if extra <= 0:
            return
        self._ints = np.concatenate([self._ints, np.zeros((len(_INTS), extra), dtype=np.int64)], axis=1)
        self._flags = np.concatenate([self._flags, np.zeros((len(_FLAGS), extra), dtype=bool)], axis=1)
        self._views()
        self.want_total = np.concatenate([self.want_total, np.zeros(extra)])
        for lists in (self.offers, self.wants, self.langs, self.topics):
            lists.grow(size)

    def _views(self) -> None:
        for k, name in enumerate(_INTS):
            setattr(self, name, self._ints[k])
        for k, name in enumerate(_FLAGS):
            setattr(self, name, self._flags[k])

    def used(self, rows: np.ndarray, load: Mapping[str, int]) -> np.ndarray | int:
        """Partnerships in use (pending + accepted) of each of `rows`, from `load` by person id."""
        if not load:
            return 0
        flat = np.ravel(rows).tolist()
        ids = itemgetter(*flat)(self.ids) if len(flat) > 1 else [self.ids[r] for r in flat]
        got = np.fromiter(map(load.get, ids, repeat(0)), dtype=np.int64, count=len(flat))
        return got.reshape(np.shape(rows))

    def person(self, r: int) -> Person:
        """The person in row `r`, which is in use (a removed person's row holds none)."""
        p = self.people[r]
        if p is None:
            raise LookupError(f"row {r} holds no person: it was removed")
        return p

    def write(self, r: int, p: Person) -> None:
        """Overwrite row r (in use) with `p`."""
        book = self.codebook
        program = book.program
        self.people[r] = p
        self.ids[r] = p.person_id
        in_org, enrolled = p.org_id == program.org_id, program.program_id in p.program_ids
        self._flags[:, r] = (p.active, in_org, enrolled, p.active and in_org and enrolled)
        self._ints[:, r] = (  # in _INTS order
            p.stage_index,
            book.depts.code(p.department.casefold()),
            book.sites.code(p.site.casefold()) if p.site else -1,
            sum(1 << MODES.index(m) for m in p.meeting_modes if m in MODES),
            book.pids.code(p.person_id),
            book.pids.code(p.manager_id) if p.manager_id else -1,
            p.max_partners,
            book.slots.add(p.timezone, p.availability),
        )
        self.offers.set(r, [(book.skills.code(s) + 1, lv / 5) for s, lv in p.offers])
        weight = program.priority_weights
        self.wants.set(r, [(book.skills.code(s) + 1, weight[pr - 1]) for s, _, pr in p.wants])
        self.want_total[r] = sum(weight[pr - 1] for _, _, pr in p.wants)
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
    weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)  # the program's, in BONUS_FACTORS order
    priority_weights: tuple[float, float, float] = (1.0, 2.0, 3.0)  # the program's, for priorities 1 to 3

    def __len__(self) -> int:
        return int(np.size(self.eligible))

    def failed(self, k: int | tuple[int, ...]) -> list[tuple[str, str]]:
        """(code, side) of every rule pair k breaks, in REASON_CODES order."""
        return [(code, side) for code, side, ok in self.checks if not ok[k]]


@overload
def harmonic_mean(x: float, y: float) -> float: ...
@overload
def harmonic_mean(x: np.ndarray, y: np.ndarray) -> np.ndarray: ...
def harmonic_mean(x: float | np.ndarray, y: float | np.ndarray) -> float | np.ndarray:
    """2xy / (x + y), and 0 unless both are positive; elementwise on arrays."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((x > 0) & (y > 0), 2 * x * y / (x + y), 0.0)
    return out if out.ndim else float(out)


def assess(
    a: Columns,
    rows: np.ndarray,
    b: Columns,
    cols: np.ndarray,
    *,
    load: Mapping[str, int] = NO_LOAD,
    blocked: np.ndarray | None = None,
    weekly: np.ndarray | None = None,
) -> Assessment:
    """Every hard rule and the score for the pairs (a `rows`, b `cols`): index arrays that broadcast
    together (two lists of pairs, or rows[:, None] against cols[None, :]). `load` counts each
    person's open partnerships (capacity rule), `blocked` holds `Codebook.pair_keys` of pairs paired
    before, `weekly` replaces the weekly overlap minutes behind the overlap bonus."""
    return _judge(a, rows, b, cols, load=load, blocked=blocked, weekly=weekly, candidates=False)


def assess_block(
    a: Columns,
    rows: np.ndarray,
    b: Columns,
    cols: np.ndarray | None = None,
    *,
    load: Mapping[str, int] = NO_LOAD,
    blocked: np.ndarray | None = None,
) -> Assessment:
    """`assess` of the block `rows` x `cols` (every row of b if None), kept to the pairs where value
    flows both ways between two members: every other pair is ineligible and scores 0. The result is
    a list of pairs; capacity (a look-up per person in `load`) is read only for the pairs that pass
    every other rule, and reads True on the others."""
    rows = np.asarray(rows, dtype=np.int64)
    rows = rows if len(rows) == 1 else np.unique(rows)
    nbytes = _bytes(b.n)
    members = np.packbits(b.member[: b.n], bitorder="little")
    # the rows of b wanting something each a row offers, and offering something it wants
    wanted = b.wants.holders(a.offers.codes[:, rows], nbytes)
    offered = b.offers.holders(a.wants.codes[:, rows], nbytes)
    both = wanted & offered & members
    both[~a.member[rows]] = 0
    both = np.unpackbits(both, axis=1, count=b.n, bitorder="little").view(bool)
    if cols is not None:
        cols = np.asarray(cols, dtype=np.int64)
        both = both[:, cols]
    i, j = np.nonzero(both)
    return _judge(a, rows[i], b, j if cols is None else cols[j], load=load, blocked=blocked, weekly=None,
                  candidates=True, block=(rows, i))


def _judge(a: Columns, rows: np.ndarray, b: Columns, cols: np.ndarray, *, load: Mapping[str, int],
           blocked: np.ndarray | None, weekly: np.ndarray | None, candidates: bool,
           block: tuple[np.ndarray, np.ndarray] | None = None) -> Assessment:
    """`candidates`: every pair is two members with value both ways (from `assess_block`, which
    passes `block`: the distinct rows, sorted, and where each pair's row is among them)."""
    book = a.codebook
    if b.codebook is not book:
        raise ValueError("both sides must share one Codebook")
    program = book.program
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    if block is None:
        uniq = np.unique(rows)
        local = np.searchsorted(uniq, rows)
    else:
        uniq, local = block
    skills = len(book.skills) + 1
    covered_ab = b.wants.gather(a.offers.dense(uniq, skills), local, cols, weighted=True)
    covered_ba = b.offers.gather(a.wants.dense(uniq, skills), local, cols, weighted=True)
    value_ab = _share(covered_ab, b.want_total[cols])
    value_ba = _share(covered_ba, a.want_total[rows])
    if candidates:  # both values are positive
        harmonic = 2 * value_ab * value_ba / (value_ab + value_ba)
    else:
        harmonic = harmonic_mean(value_ab, value_ba)
    shape = np.broadcast_shapes(np.shape(rows), np.shape(cols), np.shape(harmonic))
    passed = np.ones(shape, dtype=bool)

    ar = uniq if len(uniq) == 1 else rows  # a's row of each pair (one row: it broadcasts)
    pid_a, pid_b = a.pid[ar], b.pid[cols]
    shared_langs = b.langs.gather(a.langs.dense(uniq, len(book.langs) + 1), local, cols, weighted=False)
    modes = a.modes[ar] & b.modes[cols]
    site_a = a.site[ar]
    same_site = (site_a == b.site[cols]) & (site_a >= 0)
    fits, minutes = _overlap(book.slots, a.sig[uniq], local, b.sig[cols])
    dept_a, dept_b = a.dept[ar], b.dept[cols]
    fresh = passed
    if blocked is not None and len(blocked):
        fresh = ~np.isin(np.minimum(pid_a, pid_b) * _PAIR_KEY + np.maximum(pid_a, pid_b), blocked)
    # candidates are two members with value both ways: those checks pass by construction
    checks = [
        (SAME_PERSON, "", pid_a != pid_b),
        (DIFFERENT_ORG, "", passed if candidates else a.in_org[ar] & b.in_org[cols]),
        (NOT_IN_PROGRAM, "a", passed if candidates else a.enrolled[ar]),
        (NOT_IN_PROGRAM, "b", passed if candidates else b.enrolled[cols]),
        (INACTIVE, "a", passed if candidates else a.active[ar]),
        (INACTIVE, "b", passed if candidates else b.active[cols]),
        (MANAGER_RELATIONSHIP, "", (a.manager[ar] != pid_b) & (b.manager[cols] != pid_a)),
        (PREVIOUSLY_PAIRED, "", fresh),
        (NO_CAPACITY, "a", None),  # below: it reads `load` person by person
        (NO_CAPACITY, "b", None),
        (NO_SHARED_LANGUAGE, "", shared_langs > 0),
        (NO_SHARED_MEETING_MODE, "", ((modes & REMOTE_MODES) != 0) | (((modes & IN_PERSON) != 0) & same_site)),
        (INSUFFICIENT_OVERLAP, "", fits),
    ]
    if program.cross_department == "required":
        checks.append((SAME_DEPARTMENT, "", dept_a != dept_b))
    checks += [(NO_VALUE, "a", passed if candidates else value_ab > 0),
               (NO_VALUE, "b", passed if candidates else value_ba > 0)]
    if not candidates:  # candidates: every array is already one entry per pair
        checks = [(code, side, None if ok is None else _shaped(ok, shape)) for code, side, ok in checks]
    eligible = np.logical_and.reduce([ok for _, _, ok in checks if ok is not None])
    # capacity: for candidates, b's side is read only where every other rule passes (True elsewhere)
    room_a = _shaped(_room(a, uniq, load)[local], shape)
    if candidates and load:
        ask = np.flatnonzero(eligible)
        room_b = passed.copy()
        room_b[ask] = _room(b, cols[ask], load)
    else:
        room_b = _shaped(_room(b, cols, load), shape)
    at = [k for k, (code, _, _) in enumerate(checks) if code == NO_CAPACITY]
    checks[at[0]], checks[at[1]] = (NO_CAPACITY, "a", room_a), (NO_CAPACITY, "b", room_b)
    eligible &= room_a
    eligible &= room_b

    shared_topics = b.topics.gather(a.topics.dense(uniq, len(book.topics) + 1), local, cols, weighted=False)
    if weekly is not None:
        minutes = np.asarray(weekly)
    full = OVERLAP_FULL_SESSIONS * program.session_minutes
    w_cross, w_stage, w_interests, w_overlap = program.bonus_weights
    bonuses = [
        (dept_a != dept_b) * (BONUS_CROSS_DEPARTMENT * w_cross if program.cross_department != "any" else 0.0),
        BONUS_CAREER_STAGE * w_stage * np.abs(a.stage[ar] - b.stage[cols]) / 3,
        BONUS_SHARED_INTERESTS * w_interests * np.minimum(shared_topics, SHARED_INTERESTS_FULL) / SHARED_INTERESTS_FULL,
        BONUS_OVERLAP * w_overlap * np.minimum(np.maximum(minutes, 0), full) / full,
    ]
    if not candidates:  # bonuses count only when value flows both ways
        on = harmonic > 0
        bonuses = [np.where(on, x, 0.0) for x in bonuses]
    cross, stage, interests, overlap = (_shaped(x, shape) for x in bonuses)
    score = harmonic + (((cross + stage) + interests) + overlap)
    if not candidates:
        score = np.where(on, score, 0.0)
    return Assessment(
        rows=_shaped(rows, shape), cols=_shaped(cols, shape), value_ab=_shaped(value_ab, shape),
        value_ba=_shaped(value_ba, shape), harmonic=_shaped(harmonic, shape),
        bonuses=(cross, stage, interests, overlap),
        score=score, checks=tuple(checks), eligible=eligible, weights=program.bonus_weights,
        priority_weights=program.priority_weights,
    )  # fmt: skip


def _share(covered: np.ndarray, total: np.ndarray) -> np.ndarray:
    """covered / total; someone with no wants has a total of 0 and nothing covered, so 0."""
    share: np.ndarray = covered / np.where(total > 0, total, 1.0)
    return share


def _room(people: Columns, rows: np.ndarray, load: Mapping[str, int]) -> np.ndarray:
    """Whether each of `rows` has a partnership free."""
    free: np.ndarray = people.used(rows, load) < people.max_partners[rows]
    return free


def _shaped(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    shaped: np.ndarray = x if x.shape == shape else np.broadcast_to(x, shape)
    return shaped


def _overlap(slots: SlotTable, sigs_a: np.ndarray, local: np.ndarray,
             sigs_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a session fits every week, worst week's shared minutes) per pair, from the SlotTable."""
    if len(sigs_a) == 0:
        return np.zeros(np.shape(sigs_b), dtype=bool), np.zeros(np.shape(sigs_b), dtype=np.int64)
    if len(sigs_a) == 1:
        fits, minutes = slots.row(int(sigs_a[0]))
        return fits[sigs_b], minutes[sigs_b]
    uniq, inverse = np.unique(sigs_a, return_inverse=True)
    tables = [slots.row(int(s)) for s in uniq]
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
