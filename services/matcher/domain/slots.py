"""Vectorised availability overlap between distinct availability signatures.

A signature is (timezone, windows). Each one is laid onto the program timeline (see
`availability.intervals`) as a bitmap at a resolution g that divides every interval end point,
the session length and the week, so bitmaps are exact. A session of L minutes fits in week w iff
some slot starting in week w begins a run of L free minutes in both bitmaps; with E = "a run of
L starts here" (an erosion, which distributes over AND), that is E_a & E_b != 0 in week w. The
worst-week total is the minimum over weeks of popcount(A_w & B_w) * g. Both match
`availability.overlap_of` exactly.

Bitmaps are packed 64 slots to a word, one row per signature in a buffer that grows by doubling;
a signature's row against all others (`row`) is cached and, when signatures are added, extended
by the new columns only.
"""

from datetime import datetime
from math import gcd

import numpy as np

from shared.availability import WEEK, Intervals, Windows, intervals

Signature = tuple[str, Windows]


class SlotTable:
    def __init__(self, start: datetime, weeks: int, session_minutes: int) -> None:
        self.start, self.weeks, self.session = start, weeks, session_minutes
        self.ids: dict[Signature, int] = {}
        self.intervals: list[Intervals] = []
        self.resolution = gcd(session_minutes, WEEK)
        self._free: np.ndarray | None = None  # (capacity, weeks, words) uint64: minute block free
        self._runs: np.ndarray | None = None  # (capacity, weeks, words) uint64: a session can start here
        self._count = 0  # rows of _free/_runs in use
        self._rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.intervals)

    def add(self, timezone: str, windows: Windows) -> int:
        key = (timezone, windows)
        sid = self.ids.get(key)
        if sid is None:
            sid = self.ids[key] = len(self.intervals)
            ivs = intervals(timezone, windows, self.start, self.weeks)
            self.intervals.append(ivs)
            g = self.resolution
            for s, t in ivs:
                g = gcd(gcd(g, s), t)
            if g != self.resolution:  # a finer grid: every bitmap and cached row is redone (rare)
                self.resolution = g
                self._free = self._runs = None
                self._count = 0
                self._rows.clear()
            else:
                self._append_bitmaps([ivs])
        return sid

    def _bitmaps(self, rows: list[Intervals]) -> tuple[np.ndarray, np.ndarray]:
        g = self.resolution
        per_week = WEEK // g
        total = self.weeks * per_week
        need = self.session // g
        edges = np.zeros((len(rows), total + 1), dtype=np.int32)
        for r, ivs in enumerate(rows):
            for s, t in ivs:
                edges[r, s // g] += 1
                edges[r, t // g] -= 1
        free = np.cumsum(edges[:, :total], axis=1, dtype=np.int32) > 0
        # runs[x] = free[x .. x+need-1] all set, via prefix sums of free
        csum = np.zeros((len(rows), total + 1), dtype=np.int32)
        np.cumsum(free, axis=1, out=csum[:, 1:])
        runs = np.zeros_like(free)
        if need <= total:
            runs[:, : total - need + 1] = (csum[:, need:] - csum[:, : total - need + 1]) == need
        shape = (len(rows), self.weeks, per_week)
        return _pack(free.reshape(shape)), _pack(runs.reshape(shape))

    def _append_bitmaps(self, rows: list[Intervals]) -> None:
        if self._free is None or self._runs is None:
            return
        free, runs = self._bitmaps(rows)
        if self._count + len(rows) > len(self._free):
            size = max(2 * len(self._free), self._count + len(rows))
            self._free = _resized(self._free, size)
            self._runs = _resized(self._runs, size)
        self._free[self._count : self._count + len(rows)] = free
        self._runs[self._count : self._count + len(rows)] = runs
        self._count += len(rows)

    def _ensure(self) -> tuple[np.ndarray, np.ndarray]:
        if self._free is None or self._runs is None or self._count != len(self.intervals):
            self._free, self._runs = self._bitmaps(self.intervals)
            self._count = len(self.intervals)
            self._rows.clear()
        return self._free[: self._count], self._runs[: self._count]

    def row(self, sid: int) -> tuple[np.ndarray, np.ndarray]:
        """(slot_ok, weekly_minutes) of signature `sid` against every signature, cached."""
        free, _ = self._ensure()
        cached = self._rows.get(sid)
        done = 0 if cached is None else len(cached[0])
        if cached is None or done < len(free):
            fits, weekly = self._against(sid, slice(done, len(free)))
            if cached is not None:
                fits, weekly = np.concatenate([cached[0], fits]), np.concatenate([cached[1], weekly])
            cached = self._rows[sid] = (fits, weekly)
        return cached

    def _against(self, sid: int, cols: slice) -> tuple[np.ndarray, np.ndarray]:
        all_free, all_runs = self._ensure()
        free, runs = all_free[cols], all_runs[cols]
        both_runs, both_free = runs & all_runs[sid], free & all_free[sid]
        # per week: any common run start (OR over the words), and the common free slots (popcount)
        starts = both_runs[:, :, 0].copy()
        shared = np.bitwise_count(both_free[:, :, 0]).astype(np.int64)
        for k in range(1, both_runs.shape[2]):
            starts |= both_runs[:, :, k]
            shared += np.bitwise_count(both_free[:, :, k])
        fits = (starts != 0).all(axis=1)
        if not self.weeks:
            return fits, np.full(len(fits), np.iinfo(np.int64).max, dtype=np.int64)
        return fits, shared.min(axis=1) * self.resolution

    def matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """(slot_ok, weekly_minutes), both S x S, for every pair of signatures."""
        free, _ = self._ensure()
        rows = [self.row(s) for s in range(len(free))]
        return np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])


def _pack(bits: np.ndarray) -> np.ndarray:
    """(k, weeks, slots) bool -> (k, weeks, words) uint64, 64 slots a word."""
    packed = np.packbits(bits, axis=2, bitorder="little")
    pad = -packed.shape[2] % 8
    if pad:
        packed = np.pad(packed, ((0, 0), (0, 0), (0, pad)))
    return np.ascontiguousarray(packed).view(np.uint64)


def _resized(arr: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((size, *arr.shape[1:]), dtype=arr.dtype)
    out[: len(arr)] = arr
    return out
